package game

// Command is a change to the State. It is a closed interface: the only
// commands are CreateRoom, Guess, NextRound, Rematch, ExpireTurn, Join and
// Leave, passed by value or by non-nil pointer.
type Command interface {
	isCommand()
}

// CreateRoom creates a room with its first round.
type CreateRoom struct {
	// Code is the new room's code, from NewRoomCode.
	Code string
	// Host is the name of the creating player, who becomes its first player
	// and its host.
	Host string
	// HostID is the creating player's id (see Player.ID); required.
	HostID string
	// Category is the word category; ignored for custom rooms.
	Category string
	// Difficulty is the word list's difficulty; empty means Medium, except
	// in custom rooms where it may stay empty.
	Difficulty Difficulty
	// Custom makes the host choose the words.
	Custom bool
	// Word is the first round's secret: the host's word in custom rooms,
	// otherwise a word the proposer picked from the category's list.
	Word string
	// MaxLives is the number of wrong guesses that loses a round, 1 to
	// MaxLivesLimit; zero means DefaultMaxLives (ErrInvalidSettings
	// otherwise).
	MaxLives int
	// Rounds is the length of a match, 1 to MaxRounds: once that many
	// rounds have been played the match is over (Room.MatchOver) and the
	// host starts a Rematch. Zero makes an endless room, whose host starts
	// round after round.
	Rounds int
	// Private keeps the room out of every list of rooms; it is reached by
	// its code.
	Private bool
	// TurnSeconds is the time each turn is given, MinTurnSeconds to
	// MaxTurnSeconds: a turn that runs out costs a life (ExpireTurn).
	// Zero means no countdown.
	TurnSeconds int
	// RequestID, if not empty, makes the create idempotent: a create that
	// repeats the RequestID of a room the same HostID created is not
	// applied again but answered with that room, as a Duplicate.
	RequestID string
	// At is the time of the command in unix milliseconds.
	At int64
}

// Guess guesses one letter in a room's current round.
type Guess struct {
	// Room is the room code.
	Room string
	// Player is the guessing player's name. A player id new to the room
	// joins it under this name if the name is free (ErrNameTaken if not).
	Player string
	// PlayerID is the guessing player's id (see Player.ID); required.
	PlayerID string
	// Letter is the guessed letter; it is trimmed and folded to lower case.
	Letter string
	// RequestID, if not empty, makes the guess idempotent: a guess that
	// repeats the last successful RequestID of the player id in the room
	// is not applied again but answered with the first outcome.
	RequestID string
	// Round, if not 0, is the round the guess was made in: a guess for a
	// round that is over is refused with ErrRoundOver, so a guess sent
	// again after the round changed is never applied to the next one.
	Round int
	// At is the time of the command in unix milliseconds.
	At int64
}

// NextRound starts a new round with a new word. Only the room's host (by
// player id, see Room.HostID) may start it, at any time; anyone else is
// refused with ErrForbidden.
type NextRound struct {
	// Room is the room code.
	Room string
	// Player is the name of the player starting the round: the host's.
	Player string
	// PlayerID is the id of the player starting the round; required.
	PlayerID string
	// Word is the new secret, picked by the proposer.
	Word string
	// FromRound, if not zero, is the round this request ends. When the
	// room has moved on to the next round (the request is a retry, or
	// another player was first) nothing changes and the result is a
	// Duplicate holding the room as that next round began, the first
	// answer; a request for an earlier round is refused with ErrRoundOver.
	// Only the host gets either answer: anyone else is refused first.
	// So a NextRound is applied at most once per round, and a retry gets
	// the answer the first try got.
	FromRound int
	// FromMatch, if not zero, is the match of the round FromRound: a
	// request for a round of an earlier match is refused with
	// ErrRoundOver (rounds count from 1 again in every match), and one
	// for a later match with ErrInvalidCommand.
	FromMatch int
	// At is the time of the command in unix milliseconds.
	At int64
}

// Rematch starts the next match of a room whose match is over (see
// Room.MatchOver): the same players of record, every player's match
// points back to 0, round 1 with a new word. Only the room's host (by
// player id) may start it (ErrForbidden), and only once the match is over
// (ErrMatchNotOver).
type Rematch struct {
	// Room is the room code.
	Room string
	// Player is the name of the player starting the match: the host's.
	Player string
	// PlayerID is the id of the player starting the match; required.
	PlayerID string
	// Word is the new match's first secret, picked by the proposer (in a
	// custom-word room, the host's if the host gave one).
	Word string
	// FromMatch, if not zero, is the match this request ends, as
	// NextRound.FromRound is the round it ends: when the room has moved
	// on to the next match (a retry, or the host's other tab was first)
	// nothing changes and the result is a Duplicate holding the room as
	// that match began, the first answer. So a Rematch is applied at most
	// once per match.
	FromMatch int
	// At is the time of the command in unix milliseconds.
	At int64
}

// ExpireTurn ends the current turn of a room with a countdown whose
// deadline (Room.TurnDeadline) has passed: the turn costs the room one
// life (the round is lost at none), the log records it as a timeout, and
// the next turn's countdown starts at At. It applies only while the room
// is at Version, so of the many tabs that send one for a turn, one
// applies; otherwise it is refused with ErrTurnNotOver and nothing
// changes.
type ExpireTurn struct {
	// Room is the room code.
	Room string
	// Version is the room's version the sender saw.
	Version uint64
	// At is the time of the command in unix milliseconds, from the
	// proposer's clock: it is compared with the deadline.
	At int64
}

// Join adds a player of record to a room: the player id, under the name,
// if the name is free in the room (ErrNameTaken if not). Joining again
// under the same name changes nothing.
type Join struct {
	// Room is the room code.
	Room string
	// Player is the joining player's name.
	Player string
	// PlayerID is the joining player's id; required.
	PlayerID string
	// At is the time of the command in unix milliseconds.
	At int64
}

// Leave removes a player of record, with their points and request record,
// from a room. A player can only leave as itself: the record goes by
// PlayerID, whatever its name. If the host leaves, the player of record
// who joined earliest becomes host.
type Leave struct {
	// Room is the room code.
	Room string
	// PlayerID is the leaving player's id; required.
	PlayerID string
	// At is the time of the command in unix milliseconds.
	At int64
}

func (CreateRoom) isCommand() {}
func (Guess) isCommand()      {}
func (NextRound) isCommand()  {}
func (Rematch) isCommand()    {}
func (ExpireTurn) isCommand() {}
func (Join) isCommand()       {}
func (Leave) isCommand()      {}

// Result is the outcome of applying a command.
type Result struct {
	// Room is the room after the command, shared with the State: read it,
	// never modify it. (Stored rooms are never changed in place; every change
	// stores a new copy, so a Result's room stays as it was.) It is nil only
	// when the command names no existing room: an unknown room, or a
	// CreateRoom that failed before the room was made. When the command fails
	// it is the unchanged room.
	Room *Room
	// Hit reports, for a Guess, that the letter is in the word.
	Hit bool
	// Duplicate reports that the request was applied before and nothing
	// changed now: Room and Hit are then the first application's answer,
	// the room as it was right after it (Raft thesis §6.3). For a Guess,
	// its RequestID repeats the player id's last successful request in
	// the room; for a NextRound, its FromRound is the round before the
	// current one; for a Rematch, its FromMatch is the match before the
	// current one; for a CreateRoom, the host id created a room with its
	// RequestID before.
	Duplicate bool
	// Changed reports that the room changed, so its Version went up.
	Changed bool
}
