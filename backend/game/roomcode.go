package game

import "strings"

// RoomCodeLen is the number of characters in a room code.
const RoomCodeLen = 5

// roomCodeAlphabet holds the characters of room codes: upper-case letters and
// digits without the easily confused 0, O, 1, I and L.
const roomCodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// NewRoomCode returns a random room code of RoomCodeLen characters.
// intn must behave like math/rand/v2.IntN, returning a number in [0, n); the
// code is a deterministic function of what it returns.
func NewRoomCode(intn func(n int) int) string {
	b := make([]byte, RoomCodeLen)
	for i := range b {
		b[i] = roomCodeAlphabet[intn(len(roomCodeAlphabet))]
	}
	return string(b)
}

// ValidRoomCode reports whether code, after NormalizeRoomCode, is a room
// code NewRoomCode could have made.
func ValidRoomCode(code string) bool {
	c := NormalizeRoomCode(code)
	if len(c) != RoomCodeLen {
		return false
	}
	for i := range len(c) {
		if strings.IndexByte(roomCodeAlphabet, c[i]) < 0 {
			return false
		}
	}
	return true
}

// NormalizeRoomCode returns code trimmed of surrounding white space and in
// upper case, the form in which rooms are stored.
func NormalizeRoomCode(code string) string {
	return strings.ToUpper(strings.TrimSpace(code))
}
