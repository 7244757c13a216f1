package game

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// snapshotFormat is the version of the snapshot encoding written by Snapshot.
// Restore also reads format 2, whose rooms have no CreateRequest.
const snapshotFormat = 3

// snapshotFile is the encoded form of a State.
type snapshotFile struct {
	Format int     `json:"format"`
	Rooms  []*Room `json:"rooms"`
}

// Snapshot writes the whole state to w as JSON: a format version and the
// rooms sorted by code. Equal states always produce identical bytes.
func (s *State) Snapshot(w io.Writer) error {
	snap := snapshotFile{Format: snapshotFormat, Rooms: s.sorted()}
	if err := json.NewEncoder(w).Encode(snap); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// Restore replaces the whole state with one read from r, as written by
// Snapshot. On error the state is left unchanged and the error wraps
// ErrBadSnapshot, or the reader's error.
func (s *State) Restore(r io.Reader) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var snap snapshotFile
	if err := dec.Decode(&snap); err != nil {
		return fmt.Errorf("restore: %w: %w", ErrBadSnapshot, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("restore: data after the snapshot: %w", ErrBadSnapshot)
	}
	if snap.Format != 2 && snap.Format != snapshotFormat {
		return fmt.Errorf("restore: format %d, want 2 or %d: %w", snap.Format, snapshotFormat, ErrBadSnapshot)
	}
	rooms := make(map[string]*Room, len(snap.Rooms))
	created := make(map[string]string)
	for i, room := range snap.Rooms {
		if err := checkRoom(room); err != nil {
			return fmt.Errorf("restore: room %d: %w: %w", i, err, ErrBadSnapshot)
		}
		if _, dup := rooms[room.Code]; dup {
			return fmt.Errorf("restore: room %d: code %s appears twice: %w", i, room.Code, ErrBadSnapshot)
		}
		rooms[room.Code] = room
		if room.CreateRequest == "" {
			continue
		}
		key := createKey(room.Host, room.CreateRequest)
		if other, dup := created[key]; dup {
			return fmt.Errorf("restore: rooms %s and %s have the same host and create request: %w", other, room.Code, ErrBadSnapshot)
		}
		created[key] = room.Code
	}
	s.rooms, s.created = rooms, created
	return nil
}

// checkRoom explains why a decoded room breaks the invariants Apply relies
// on, or returns nil.
func checkRoom(r *Room) error {
	switch {
	case r == nil:
		return errors.New("null room")
	case r.Code != NormalizeRoomCode(r.Code) || !ValidRoomCode(r.Code):
		return fmt.Errorf("code %s is not a room code", quote(r.Code))
	case r.Status < Playing || r.Status > Lost:
		return fmt.Errorf("status %d", r.Status)
	case r.Version < 1 || r.Round < 1:
		return fmt.Errorf("version %d, round %d", r.Version, r.Round)
	case r.MaxLives < 1 || r.MaxLives > MaxLivesLimit || r.LivesLeft < 0 || r.LivesLeft > r.MaxLives:
		return fmt.Errorf("lives %d of %d", r.LivesLeft, r.MaxLives)
	case len(r.Players) > MaxPlayersPerRoom:
		return fmt.Errorf("%d players", len(r.Players))
	case len(r.CreateRequest) > MaxRequestIDLen || !utf8.ValidString(r.CreateRequest):
		return fmt.Errorf("create request %s", quote(r.CreateRequest))
	}
	if err := checkWord(r.Word); err != nil {
		return fmt.Errorf("word: %w", err)
	}
	return nil
}
