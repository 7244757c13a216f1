package game

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// snapshotFormat is the version of the snapshot encoding written by Snapshot.
// Restore also reads format 2, whose rooms have no CreateRequest, and
// format 3, which keeps no first answers (request records without Reply,
// rooms without RoundStart, no Created): a request sent again after such
// a restore is answered with the room as it is then.
const snapshotFormat = 4

// snapshotFile is the encoded form of a State.
type snapshotFile struct {
	Format int     `json:"format"`
	Rooms  []*Room `json:"rooms"`
	// Created holds the first answer of every create with a request id
	// that has one (not those restored from format 3), sorted by code
	// (format 4).
	Created []*Room `json:"created,omitempty"`
}

// Snapshot writes the whole state to w as JSON: a format version, the
// rooms sorted by code and the creates' first answers. Equal states always
// produce identical bytes.
func (s *State) Snapshot(w io.Writer) error {
	created := make([]*Room, 0, len(s.created))
	for _, c := range s.created {
		if c.reply != nil {
			created = append(created, c.reply)
		}
	}
	slices.SortFunc(created, func(a, b *Room) int { return strings.Compare(a.Code, b.Code) })
	snap := snapshotFile{Format: snapshotFormat, Rooms: s.sorted(), Created: created}
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
	if snap.Format < 2 || snap.Format > snapshotFormat {
		return fmt.Errorf("restore: format %d, want 2 to %d: %w", snap.Format, snapshotFormat, ErrBadSnapshot)
	}
	if snap.Format < 4 && len(snap.Created) > 0 {
		return fmt.Errorf("restore: format %d has no created rooms: %w", snap.Format, ErrBadSnapshot)
	}
	rooms := make(map[string]*Room, len(snap.Rooms))
	created := make(map[string]creation)
	for i, room := range snap.Rooms {
		if err := checkStoredRoom(room); err != nil {
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
			return fmt.Errorf("restore: rooms %s and %s have the same host and create request: %w", other.code, room.Code, ErrBadSnapshot)
		}
		created[key] = creation{code: room.Code}
	}
	for i, first := range snap.Created {
		if err := checkReply(first, ""); err != nil {
			return fmt.Errorf("restore: created room %d: %w: %w", i, err, ErrBadSnapshot)
		}
		key := createKey(first.Host, first.CreateRequest)
		c, ok := created[key]
		switch {
		case !ok || c.code != first.Code || first.Version != 1:
			return fmt.Errorf("restore: created room %d (%s) is no room's first answer: %w", i, first.Code, ErrBadSnapshot)
		case c.reply != nil:
			return fmt.Errorf("restore: created room %d (%s) appears twice: %w", i, first.Code, ErrBadSnapshot)
		}
		created[key] = creation{code: c.code, reply: first}
	}
	s.rooms, s.created = rooms, created
	return nil
}

// checkStoredRoom is checkRoom for a stored room and the first answers it
// keeps: its request records' replies and its RoundStart.
func checkStoredRoom(r *Room) error {
	if err := checkRoom(r); err != nil {
		return err
	}
	if err := checkReply(r.RoundStart, r.Code); err != nil {
		return fmt.Errorf("round start: %w", err)
	}
	for _, p := range r.Players {
		if err := checkReply(p.LastRequest.Reply, r.Code); err != nil {
			return fmt.Errorf("reply to %s: %w", quote(p.Name), err)
		}
	}
	return nil
}

// checkReply explains why a remembered reply of room code (any room if
// code is empty) is not one, or returns nil. A nil reply is none.
func checkReply(r *Room, code string) error {
	if r == nil {
		return nil
	}
	if err := checkRoom(r); err != nil {
		return err
	}
	switch {
	case code != "" && r.Code != code:
		return fmt.Errorf("reply of room %s in room %s", r.Code, code)
	case r.RoundStart != nil:
		return errors.New("a reply with a round start")
	}
	for _, p := range r.Players {
		if p.LastRequest != (RequestRecord{}) {
			return errors.New("a reply with request records")
		}
	}
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
	case r.Status == Playing && r.LivesLeft == 0:
		return errors.New("playing with no lives left")
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
