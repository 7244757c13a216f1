package game

import (
	"errors"
	"strconv"
)

// Sentinel errors. Functions in this package return them wrapped with
// context, so compare with [errors.Is].
var (
	// ErrInvalidLetter reports a guess that is not exactly one letter a–z
	// after trimming and folding to lower case.
	ErrInvalidLetter = errors.New("invalid letter")
	// ErrAlreadyGuessed reports a guess of a letter already guessed this round.
	ErrAlreadyGuessed = errors.New("letter already guessed")
	// ErrRoundOver reports a guess in a round that has been won or lost.
	ErrRoundOver = errors.New("round is over")
	// ErrUnknownRoom reports a command for a room code that does not exist.
	ErrUnknownRoom = errors.New("unknown room")
	// ErrRoomExists reports a CreateRoom whose code is already taken.
	ErrRoomExists = errors.New("room already exists")
	// ErrInvalidWord reports a secret word that NormalizeWord rejects.
	ErrInvalidWord = errors.New("invalid word")
	// ErrUnknownCategory reports a category that has no word list.
	ErrUnknownCategory = errors.New("unknown category")
	// ErrUnknownDifficulty reports a difficulty other than easy, medium or hard.
	ErrUnknownDifficulty = errors.New("unknown difficulty")
	// ErrForbidden reports a command the player may not give: a NextRound
	// or Rematch by anyone but the room's host.
	ErrForbidden = errors.New("only the host may do that")
	// ErrNameTaken reports a command whose player name and id do not match
	// the room's players of record: another player id holds the name in
	// the room, or the player id plays there under another name.
	ErrNameTaken = errors.New("name taken")
	// ErrInvalidPlayer reports a player name that NormalizeName rejects.
	ErrInvalidPlayer = errors.New("invalid player name")
	// ErrRoomFull reports that a room already has MaxPlayersPerRoom players
	// who were active within IdleAfter, so a newcomer has no seat.
	ErrRoomFull = errors.New("room is full")
	// ErrHostWatches reports a Guess by the host of a custom-word room:
	// the host chose the word, so the host watches and the others guess.
	ErrHostWatches = errors.New("the host chose the word and watches")
	// ErrMatchOver reports a NextRound in a room whose match is over (see
	// Room.MatchOver): the host starts a Rematch instead.
	ErrMatchOver = errors.New("match is over")
	// ErrMatchNotOver reports a Rematch in a room whose match is not over.
	ErrMatchNotOver = errors.New("match is not over")
	// ErrLastRound reports a NextRound during the last round of a match:
	// the round is played out (won, lost, or its turns run out), not
	// skipped.
	ErrLastRound = errors.New("last round of the match")
	// ErrTurnNotOver reports an ExpireTurn that does not apply: the room
	// has no countdown, its round is over, it has moved on from the
	// version the command names, or the turn's deadline has not passed.
	ErrTurnNotOver = errors.New("turn is not over")
	// ErrInvalidSettings reports a CreateRoom whose MaxLives, Rounds or
	// TurnSeconds is out of range.
	ErrInvalidSettings = errors.New("invalid room settings")
	// ErrInvalidCommand reports a malformed command: nil, of an unknown type,
	// without a room code, with a bad room code, request id or player id
	// (every command needs one).
	ErrInvalidCommand = errors.New("invalid command")
	// ErrBadSnapshot reports snapshot data that Restore cannot accept.
	ErrBadSnapshot = errors.New("bad snapshot")
)

// quote returns s quoted for an error message, cut short if it is long, so
// that untrusted input cannot blow up the size of an error.
func quote(s string) string {
	const maxRunes = 32
	r := []rune(s)
	if len(r) <= maxRunes {
		return strconv.Quote(s)
	}
	return strconv.Quote(string(r[:maxRunes])) + "..."
}
