package game

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// NormalizeLetter trims surrounding white space from a guess and folds it to
// lower case by ASCII rules only. What is left must be exactly one ASCII
// letter, a–z or A–Z (so no look-alike such as U+212A KELVIN SIGN, which
// Unicode folds to k); otherwise the error wraps ErrInvalidLetter.
func NormalizeLetter(s string) (string, error) {
	l := asciiLower(strings.TrimSpace(s))
	if len(l) != 1 || !isLetter(rune(l[0])) {
		return "", fmt.Errorf("letter %s is not one of a-z: %w", quote(s), ErrInvalidLetter)
	}
	return l, nil
}

// checkedGuess is a Guess that passed every check, or a repeated request.
type checkedGuess struct {
	cur    *Room
	name   string
	letter string
	seat   int  // the player's index in cur.Players, -1 for a newcomer
	dup    bool // the request id was applied before; hit and reply are its outcome
	hit    bool
	reply  *Room
}

// checkGuess runs every check of a Guess without building the next room.
// A repeated request id of the player id is recognised before any other
// check, so a retry gets the first answer even after the round ended. The
// other checks run in this order: player name and id, the pair against
// the players of record (ErrNameTaken), request id, letter, round (the
// guess's, then the room's) over, letter already guessed, room full (for
// a new player).
func (s *State) checkGuess(g Guess) (checkedGuess, error) {
	cur, err := s.lookup("guess", g.Room)
	if err != nil {
		return checkedGuess{}, err
	}
	if i := cur.playerByID(g.PlayerID); i >= 0 && g.RequestID != "" && cur.Players[i].LastRequest.ID == g.RequestID && cur.Players[i].LastRequest.EndedRound == 0 {
		rec := cur.Players[i].LastRequest
		reply := rec.Reply
		if reply == nil { // a record from an older snapshot
			reply = cur
		}
		return checkedGuess{cur: cur, hit: rec.Hit, dup: true, reply: reply}, nil
	}
	fail := func(err error) (checkedGuess, error) {
		return checkedGuess{cur: cur}, fmt.Errorf("guess in room %s: %w", cur.Code, err)
	}
	name, err := identify(g.Player, g.PlayerID)
	if err != nil {
		return fail(err)
	}
	seat, err := cur.seat(name, g.PlayerID)
	if err != nil {
		return fail(err)
	}
	if cur.Custom && g.PlayerID == cur.HostID {
		return fail(fmt.Errorf("%s hosts the room and chose its word: %w", quote(name), ErrHostWatches))
	}
	if len(g.RequestID) > MaxRequestIDLen || !utf8.ValidString(g.RequestID) {
		return fail(fmt.Errorf("request id %s: not valid UTF-8 of at most %d bytes: %w", quote(g.RequestID), MaxRequestIDLen, ErrInvalidCommand))
	}
	letter, err := NormalizeLetter(g.Letter)
	if err != nil {
		return fail(err)
	}
	if g.Round > cur.Round || g.Round < 0 {
		return fail(fmt.Errorf("round %d has not started (the room is in round %d): %w", g.Round, cur.Round, ErrInvalidCommand))
	}
	if g.Round != 0 && g.Round < cur.Round {
		return fail(fmt.Errorf("round %d is over (the room is in round %d): %w", g.Round, cur.Round, ErrRoundOver))
	}
	if cur.Over() {
		return fail(fmt.Errorf("round %d is %s: %w", cur.Round, cur.Status, ErrRoundOver))
	}
	if slices.Contains(cur.Guessed, letter) {
		return fail(fmt.Errorf("letter %q: %w", letter, ErrAlreadyGuessed))
	}
	if seat < 0 && !cur.hasSeat(g.At) {
		return fail(fmt.Errorf("player %s cannot join: %w", quote(name), ErrRoomFull))
	}
	return checkedGuess{cur: cur, name: name, letter: letter, seat: seat}, nil
}

// planGuess plans a Guess: the checks of checkGuess, then the next room.
func (s *State) planGuess(g Guess) (step, error) {
	c, err := s.checkGuess(g)
	if err != nil {
		return step{cur: c.cur}, err
	}
	if c.dup {
		return step{cur: c.cur, hit: c.hit, dup: true, reply: c.reply}, nil
	}
	cur, name, letter, i := c.cur, c.name, c.letter, c.seat
	next := cur.successor()
	if i < 0 {
		i = next.admit(name, g.PlayerID, g.At)
	}
	next.Players[i].LastActive = g.At
	next.bump(g.At)
	next.TurnStart = g.At
	next.Guessed = append(next.Guessed, letter)
	hits := strings.Count(next.Word, letter)
	if hits > 0 {
		next.Players[i].earn(hits * PointsPerLetter)
		if next.solved() {
			next.Status = Won
			next.Players[i].earn(SolveBonus)
		}
	} else {
		next.Wrong = append(next.Wrong, letter)
		next.LivesLeft--
		if next.LivesLeft <= 0 {
			next.Status = Lost
		}
	}
	hit := hits > 0
	next.Log = append(next.Log, LogEntry{Player: name, Letter: letter, Hit: hit, Version: next.Version})
	if g.RequestID != "" {
		// The reply is taken before the record is written: it holds no records.
		next.Players[i].LastRequest = RequestRecord{ID: g.RequestID, Letter: letter, Hit: hit, Version: next.Version, Reply: next.asReply()}
	}
	return step{cur: cur, next: next, hit: hit}, nil
}
