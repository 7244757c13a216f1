package game

import (
	"slices"
	"strings"
)

// CustomCategory is the Category of rooms whose words are set by the host.
const CustomCategory = "custom"

// LogEntry records one applied guess of the current round, or one turn
// whose countdown ran out (ExpireTurn).
type LogEntry struct {
	// Player is the name of the player who guessed; empty for a timeout.
	Player string
	// Letter is the guessed letter, one lower-case "a".."z"; empty for a
	// timeout.
	Letter string
	// Hit reports whether the letter is in the word.
	Hit bool
	// Version is the room's Version right after the guess.
	Version uint64
	// Timeout marks a turn whose countdown ran out: it cost a life.
	Timeout bool `json:",omitempty"`
}

// RequestRecord is the remembered outcome of a player's last successful
// request in a room, a guess, a NextRound or a Rematch: the client session
// of the player id (Raft thesis §6.3). A Guess that repeats its ID, a
// NextRound that repeats its EndedRound, or a Rematch that repeats its
// EndedMatch, is not applied again but answered with Reply.
// A zero RequestRecord means the player has made none.
type RequestRecord struct {
	// ID is the request id of the guess; empty for a NextRound or Rematch.
	ID string
	// EndedRound is the round a NextRound ended; 0 for a guess.
	EndedRound int `json:",omitempty"`
	// InMatch is the match of the round a NextRound ended, when the
	// request said (NextRound.FromMatch); 0 otherwise.
	InMatch int `json:",omitempty"`
	// EndedMatch is the match a Rematch ended; 0 for anything else.
	EndedMatch int `json:",omitempty"`
	// Letter is the guessed letter.
	Letter string
	// Hit reports whether the letter was in the word.
	Hit bool
	// Version is the room's Version right after the request.
	Version uint64
	// Reply is the room as the request left it, as its reply showed it
	// (see Room.asReply): a resend of the request is answered with it, so
	// that it gets the first answer, not the room as it is now. It is nil
	// in records restored from snapshots of format 3 and earlier.
	Reply *Room `json:",omitempty"`
}

// Room is one game room. Rooms returned by this package are copies; changing
// them does not change the State they came from.
type Room struct {
	// Code is the room code, upper case (see NewRoomCode).
	Code string
	// Host is the name of the room's host, the one player who may start
	// a new round. The creator hosts the room until it leaves it (or
	// gives up its seat, see MaxPlayersPerRoom); then the player of
	// record who joined earliest does.
	Host string
	// HostID is the host's player id. It is the id of a player of record
	// whenever the room has players; an empty room keeps its last host.
	HostID string
	// CreatorID is the player id of the creator: with CreateRequest, the
	// key of the create's first answer. Unlike HostID it never changes.
	CreatorID string
	// Category is a category name, or CustomCategory for custom-word rooms.
	Category string
	// Difficulty is the difficulty of the word list; it may be empty for
	// custom-word rooms.
	Difficulty Difficulty
	// Custom reports whether the host chooses the words.
	Custom bool
	// Round counts the match's rounds, starting at 1.
	Round int
	// Rounds is the match's length: 0 for an endless room, else 1 to
	// MaxRounds (see MatchOver).
	Rounds int `json:",omitempty"`
	// Match counts matches: 1 for the first, +1 per Rematch.
	Match int `json:",omitempty"`
	// Private rooms are left out of every list of rooms (the rpc layer's
	// ListRooms); they are reached by code.
	Private bool `json:",omitempty"`
	// TurnSeconds is the time each turn is given; 0 for no countdown
	// (see TurnDeadline).
	TurnSeconds int `json:",omitempty"`
	// TurnStart is when the current turn began, in unix milliseconds
	// from the command: the round's start, its last guess or its last
	// timeout.
	TurnStart int64 `json:",omitempty"`
	// Word is the secret word, lower case. It must never leave the backend
	// before the round is over; show Masked instead.
	Word string
	// Guessed holds every letter guessed this round, in the order guessed.
	Guessed []string
	// Wrong holds the wrong letters of this round, in the order guessed.
	Wrong []string
	// MaxLives is the number of wrong guesses that loses a round.
	MaxLives int
	// LivesLeft is the number of wrong guesses still allowed this round.
	LivesLeft int
	// Status is the status of the current round.
	Status Status
	// Players holds the players of record, in join order.
	Players []Player
	// Log holds this round's guesses, in the order applied.
	Log []LogEntry
	// Version counts changes: 1 after creation, +1 for every applied change.
	Version uint64
	// CreatedAt is the creation time in unix milliseconds, from the command.
	CreatedAt int64
	// CreateRequest is the request id of the create that made the room, or
	// empty: a create by the creator that repeats it returns this room.
	CreateRequest string
	// UpdatedAt is the time of the last applied change in unix
	// milliseconds, from the command.
	UpdatedAt int64
	// RoundStart is the room as the NextRound or Rematch that began the
	// current round left it (see asReply): a NextRound sent again for the
	// round before, or a Rematch for the match before, is answered with
	// it. It is nil in round 1 of the first match.
	RoundStart *Room `json:",omitempty"`
}

// Masked returns Word with every letter not yet guessed replaced by '_'.
// Spaces, hyphens and apostrophes are shown as they are. The result has as
// many runes as Word.
func (r *Room) Masked() string {
	guessed := r.guessedSet()
	var b strings.Builder
	b.Grow(len(r.Word))
	for _, c := range r.Word {
		if isLetter(c) && !guessed[c-'a'] {
			b.WriteByte('_')
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Over reports whether the current round has been won or lost.
func (r *Room) Over() bool {
	return r.Status != Playing
}

// MatchOver reports whether the room's match is over: the room plays
// matches (Rounds > 0), this is the match's last round, and it is over.
func (r *Room) MatchOver() bool {
	return r.Rounds > 0 && r.Round >= r.Rounds && r.Over()
}

// TurnDeadline returns when the current turn's countdown runs out, in
// unix milliseconds: TurnStart plus TurnSeconds. It is 0 when the room
// has no countdown or the round is over.
func (r *Room) TurnDeadline() int64 {
	if r.TurnSeconds <= 0 || r.Over() {
		return 0
	}
	return r.TurnStart + int64(r.TurnSeconds)*1000
}

// Clone returns a deep copy of r. Clone of a nil Room is nil.
func (r *Room) Clone() *Room {
	if r == nil {
		return nil
	}
	c := *r
	c.Guessed = slices.Clone(r.Guessed)
	c.Wrong = slices.Clone(r.Wrong)
	c.Players = slices.Clone(r.Players)
	c.Log = slices.Clone(r.Log)
	return &c
}

// successor returns a copy of r to apply one more guess to: the players
// are copied, while Guessed, Wrong and Log share their arrays with r, so
// that appending a guess copies nothing. That is safe because appends only
// ever write past the end of r's slices, where r does not look, and a
// stored room has at most one successor: State.Apply stores it in r's
// place at once, and every later command starts from it.
func (r *Room) successor() *Room {
	c := *r
	c.Players = slices.Clone(r.Players)
	return &c
}

// asReply returns a copy of r to remember as the answer to the request
// that produced it: the players without their request records and no
// RoundStart, so that a remembered reply never holds a chain of older
// rooms. Its players have a name and points only: a reply shows no
// more. It shares Guessed, Wrong and Log with r, which later changes
// only append to past their end (see successor).
func (r *Room) asReply() *Room {
	c := *r
	c.Players = make([]Player, len(r.Players))
	for i, p := range r.Players {
		c.Players[i] = Player{Name: p.Name, Points: p.Points, MatchPoints: p.MatchPoints}
	}
	c.RoundStart = nil
	return &c
}

// Player returns the player of record with the given name, compared after
// trimming surrounding white space.
func (r *Room) Player(name string) (Player, bool) {
	i := r.playerIndex(strings.TrimSpace(name))
	if i < 0 {
		return Player{}, false
	}
	return r.Players[i], true
}

// PlayerByID returns the player of record with the given id.
func (r *Room) PlayerByID(id string) (Player, bool) {
	i := r.playerByID(id)
	if i < 0 {
		return Player{}, false
	}
	return r.Players[i], true
}

// playerIndex returns the index of the named player in Players, or -1.
func (r *Room) playerIndex(name string) int {
	return slices.IndexFunc(r.Players, func(p Player) bool { return p.Name == name })
}

// guessedSet returns which letters a–z have been guessed this round.
func (r *Room) guessedSet() [26]bool {
	var set [26]bool
	for _, g := range r.Guessed {
		if len(g) == 1 && isLetter(rune(g[0])) {
			set[g[0]-'a'] = true
		}
	}
	return set
}

// solved reports whether every letter of Word has been guessed.
func (r *Room) solved() bool {
	return !strings.Contains(r.Masked(), "_")
}

// bump records one applied change made at time at.
func (r *Room) bump(at int64) {
	r.Version++
	r.UpdatedAt = at
}

// isLetter reports whether c is one of the lower-case letters a–z.
func isLetter(c rune) bool {
	return c >= 'a' && c <= 'z'
}
