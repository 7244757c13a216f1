package game

import (
	"fmt"
	"strings"
	"time"
)

// Limits and scoring.
const (
	// DefaultMaxLives is the number of wrong guesses allowed when a
	// CreateRoom leaves MaxLives at zero.
	DefaultMaxLives = 6
	// MaxLivesLimit is the largest MaxLives a room may have: one per letter.
	MaxLivesLimit = 26
	// MaxPlayersPerRoom is the largest number of players of record in a
	// room. A newcomer to a full room takes the seat of the player idle
	// the longest, if one has been idle for more than IdleAfter; if every
	// player has been active since, the room is full (ErrRoomFull).
	MaxPlayersPerRoom = 64
	// IdleAfter is how long after their last command (Player.LastActive)
	// a player of record stops counting against MaxPlayersPerRoom. It is
	// measured against the time a command carries (its At), never the
	// clock, so every replica agrees.
	IdleAfter = 10 * time.Minute
	// MaxPlayerIDLen is the longest player id, in bytes.
	MaxPlayerIDLen = 128
	// MaxNameLen is the longest player name, in runes, after trimming.
	MaxNameLen = 24
	// MaxRequestIDLen is the longest guess request id, in bytes.
	MaxRequestIDLen = 128
	// MaxRounds is the longest match, in rounds (CreateRoom.Rounds); 0
	// rounds is an endless room.
	MaxRounds = 20
	// MinTurnSeconds is the shortest turn countdown a room may have
	// (CreateRoom.TurnSeconds); 0 seconds is no countdown.
	MinTurnSeconds = 10
	// MaxTurnSeconds is the longest turn countdown a room may have.
	MaxTurnSeconds = 300
	// PointsPerLetter is awarded for every occurrence of a guessed letter.
	PointsPerLetter = 10
	// SolveBonus is awarded to the player whose guess reveals the last letter.
	SolveBonus = 50
)

// Status of a round.
type Status int8

// The states a round can be in.
const (
	// Playing means the word is not yet revealed and lives are left.
	Playing Status = iota + 1
	// Won means every letter of the word has been guessed.
	Won
	// Lost means the room ran out of lives before the word was revealed.
	Lost
)

// String returns "playing", "won" or "lost".
func (s Status) String() string {
	switch s {
	case Playing:
		return "playing"
	case Won:
		return "won"
	case Lost:
		return "lost"
	}
	return fmt.Sprintf("Status(%d)", int8(s))
}

// Difficulty of the word list.
type Difficulty string

// The difficulties every category has words for.
const (
	// Easy words are short and common.
	Easy Difficulty = "easy"
	// Medium words are single words of six to nine letters.
	Medium Difficulty = "medium"
	// Hard words are long or unusual and may be phrases.
	Hard Difficulty = "hard"
)

// difficulties lists every valid Difficulty, easiest first.
var difficulties = []Difficulty{Easy, Medium, Hard}

// ParseDifficulty parses s case-insensitively, ignoring surrounding space.
// The empty string means Medium. Anything else fails with
// ErrUnknownDifficulty.
func ParseDifficulty(s string) (Difficulty, error) {
	switch d := Difficulty(strings.ToLower(strings.TrimSpace(s))); d {
	case "":
		return Medium, nil
	case Easy, Medium, Hard:
		return d, nil
	}
	return "", fmt.Errorf("difficulty %s: %w", quote(s), ErrUnknownDifficulty)
}
