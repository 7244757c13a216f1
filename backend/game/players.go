package game

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Player is a player of record in a room.
type Player struct {
	// Name is the player's name as returned by NormalizeName.
	Name string
	// Points is the player's score, kept across rounds.
	Points int
	// LastRequest is the player's last successful guess request in this
	// room. It lives and goes with the player of record: the copy of a
	// room made for every change copies it with the players, no map needed.
	LastRequest RequestRecord
}

// NormalizeName trims surrounding white space from a player name and checks
// it: 1 to MaxNameLen runes of valid UTF-8 without control characters.
// Failures wrap ErrInvalidPlayer. Names are compared exactly after trimming.
func NormalizeName(name string) (string, error) {
	n := strings.TrimSpace(name)
	switch {
	case n == "":
		return "", fmt.Errorf("player name is empty: %w", ErrInvalidPlayer)
	case !utf8.ValidString(n):
		return "", fmt.Errorf("player name %s is not valid UTF-8: %w", quote(n), ErrInvalidPlayer)
	case utf8.RuneCountInString(n) > MaxNameLen:
		return "", fmt.Errorf("player name %s is longer than %d runes: %w", quote(n), MaxNameLen, ErrInvalidPlayer)
	case strings.ContainsFunc(n, unicode.IsControl):
		return "", fmt.Errorf("player name %s contains control characters: %w", quote(n), ErrInvalidPlayer)
	}
	return n, nil
}
