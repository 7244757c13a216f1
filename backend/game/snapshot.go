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
// Restore also reads format 2, whose rooms have no CreateRequest; format 3,
// which keeps no first answers (request records without Reply, rooms
// without RoundStart, no Created): a request sent again after such a
// restore is answered with the room as it is then; and format 4, which has
// no player ids (rooms without HostID and CreatorID, players without ID
// and LastActive); and format 5, which has no matches (rooms without
// Rounds, Match, Private, TurnSeconds and TurnStart, players without
// MatchPoints). Rooms of formats 2 to 4 are brought to format 5 as
// they are read (see upgradeRoom): each player gets LegacyPlayerID of its
// name and counts as active at the room's last change, and a host who
// left hands over to the player who joined earliest. Rooms of formats 2
// to 5 are then brought to format 6 (see upgradeMatch): an endless room
// in its first match, without a countdown, whose players' match points
// are their points.
const snapshotFormat = 6

// firstFormatWithIDs is the first snapshot format whose players have ids.
const firstFormatWithIDs = 5

// firstFormatWithMatches is the first snapshot format whose rooms play
// matches (Room.Match).
const firstFormatWithMatches = 6

// snapshotFile is the encoded form of a State.
type snapshotFile struct {
	Format int     `json:"format"`
	Rooms  []*Room `json:"rooms"`
	// Created holds the first answer of every create with a request id
	// that has one (not those restored from format 3), sorted by code
	// (formats 4 and 5).
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
		if room != nil && snap.Format < firstFormatWithIDs {
			if err := upgradeRoom(room); err != nil {
				return fmt.Errorf("restore: room %d: %w: %w", i, err, ErrBadSnapshot)
			}
		}
		if room != nil && snap.Format < firstFormatWithMatches {
			if err := upgradeStoredMatch(room); err != nil {
				return fmt.Errorf("restore: room %d: %w: %w", i, err, ErrBadSnapshot)
			}
		}
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
		key := createKey(room.CreatorID, room.CreateRequest)
		if other, dup := created[key]; dup {
			return fmt.Errorf("restore: rooms %s and %s have the same creator and create request: %w", other.code, room.Code, ErrBadSnapshot)
		}
		created[key] = creation{code: room.Code}
	}
	for i, first := range snap.Created {
		if first != nil && snap.Format < firstFormatWithIDs {
			upgradeReply(first)
		}
		if first != nil && snap.Format < firstFormatWithMatches {
			if err := upgradeMatch(first); err != nil {
				return fmt.Errorf("restore: created room %d: %w: %w", i, err, ErrBadSnapshot)
			}
		}
		if err := checkReply(first, ""); err != nil {
			return fmt.Errorf("restore: created room %d: %w: %w", i, err, ErrBadSnapshot)
		}
		key := createKey(first.CreatorID, first.CreateRequest)
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

// upgradeRoom brings a room of a snapshot of format 4 or earlier, which
// knew players by name only, to format 5: its host and creator, and each
// player, get LegacyPlayerID of their name; each player counts as active
// at the room's last change (UpdatedAt); a host who left (which format 4
// allowed) hands over to the player of record who joined earliest. The
// replies the room keeps get their host's and creator's ids too. It
// fails, changing nothing that matters (the restore is refused), on a
// room a format 4 snapshot could not hold: one with ids already.
func upgradeRoom(r *Room) error {
	if r.HostID != "" || r.CreatorID != "" {
		return errors.New("player ids in a snapshot of a format without them")
	}
	upgradeReply(r)
	for i := range r.Players {
		p := &r.Players[i]
		if p.ID != "" || p.LastActive != 0 {
			return errors.New("player ids in a snapshot of a format without them")
		}
		p.ID, p.LastActive = LegacyPlayerID(p.Name), r.UpdatedAt
		upgradeReply(p.LastRequest.Reply)
	}
	upgradeReply(r.RoundStart)
	r.ensureHost()
	return nil
}

// upgradeReply gives a remembered reply of a format 4 snapshot (nil is
// none) its host's and creator's ids; its players, as a reply's, have
// none.
func upgradeReply(r *Room) {
	if r == nil {
		return
	}
	r.HostID = LegacyPlayerID(r.Host)
	r.CreatorID = LegacyPlayerID(r.Host)
}

// upgradeStoredMatch is upgradeMatch for a stored room and the replies it
// keeps: its RoundStart and its players' request records' replies.
func upgradeStoredMatch(r *Room) error {
	if err := upgradeMatch(r); err != nil {
		return err
	}
	if err := upgradeMatch(r.RoundStart); err != nil {
		return fmt.Errorf("round start: %w", err)
	}
	for _, p := range r.Players {
		if err := upgradeMatch(p.LastRequest.Reply); err != nil {
			return fmt.Errorf("reply to %s: %w", quote(p.Name), err)
		}
	}
	return nil
}

// upgradeMatch brings a room (or a remembered reply, nil for none) of a
// snapshot of format 5 or earlier, which knew no matches, to format 6: an
// endless room (Rounds 0) in its first match, without a countdown, whose
// players' match points are their points. It fails on a room a format 5
// snapshot could not hold: one with match fields already.
func upgradeMatch(r *Room) error {
	if r == nil {
		return nil
	}
	if r.Rounds != 0 || r.Match != 0 || r.Private || r.TurnSeconds != 0 || r.TurnStart != 0 {
		return errors.New("match settings in a snapshot of a format without them")
	}
	r.Match = 1
	for i := range r.Players {
		p := &r.Players[i]
		if p.MatchPoints != 0 || p.LastRequest.EndedMatch != 0 {
			return errors.New("match points in a snapshot of a format without them")
		}
		p.MatchPoints = p.Points
	}
	for _, e := range r.Log {
		if e.Timeout {
			return errors.New("a timeout in a snapshot of a format without them")
		}
	}
	return nil
}

// checkStoredRoom is checkRoom for a stored room and the first answers it
// keeps: its request records' replies and its RoundStart. Its players
// have distinct names and distinct ids, and its host is one of them
// unless the room is empty.
func checkStoredRoom(r *Room) error {
	if err := checkRoom(r); err != nil {
		return err
	}
	names, ids := make(map[string]bool, len(r.Players)), make(map[string]bool, len(r.Players))
	for _, p := range r.Players {
		if err := checkPlayerID(p.ID); err != nil {
			return fmt.Errorf("player %s: %w", quote(p.Name), err)
		}
		if names[p.Name] || ids[p.ID] {
			return fmt.Errorf("player %s (id %s) appears twice", quote(p.Name), quote(p.ID))
		}
		names[p.Name], ids[p.ID] = true, true
	}
	if len(r.Players) > 0 && !ids[r.HostID] {
		return fmt.Errorf("host %s is not a player of record", quote(r.HostID))
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
	case checkPlayerID(r.HostID) != nil || checkPlayerID(r.CreatorID) != nil:
		return fmt.Errorf("host id %s, creator id %s", quote(r.HostID), quote(r.CreatorID))
	case r.Match < 1:
		return fmt.Errorf("match %d", r.Match)
	case r.Rounds > 0 && r.Round > r.Rounds:
		return fmt.Errorf("round %d of a match of %d", r.Round, r.Rounds)
	}
	if err := checkMatchSettings(r.Rounds, r.TurnSeconds); err != nil {
		return err
	}
	for _, p := range r.Players {
		if p.MatchPoints < 0 || p.MatchPoints > p.Points {
			return fmt.Errorf("player %s has %d match points of %d", quote(p.Name), p.MatchPoints, p.Points)
		}
	}
	if err := checkWord(r.Word); err != nil {
		return fmt.Errorf("word: %w", err)
	}
	return nil
}
