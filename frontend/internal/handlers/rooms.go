package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/gallows-game/gallows/proto/gallows/v1"
	"github.com/gallows-game/gallows/web"
)

// Pages of rooms.
const (
	// defaultListLimit is the page size of GET /api/rooms without ?limit.
	defaultListLimit = 50
	// maxListLimit is the largest ?limit of GET /api/rooms.
	maxListLimit = 200
	// maxCursorLen bounds a cursor before it is sent to a backend.
	maxCursorLen = 64
	// homeRooms is how many open rooms the home page lists at a time.
	homeRooms = 20
	// leaderboardTTL is how long a leaderboard is served before the
	// backends are asked again.
	leaderboardTTL = time.Second
	// leaderboardSize is how many players the leaderboard ranks.
	leaderboardSize = 100
)

// parseLimit reads ?limit: default defaultListLimit, at most maxListLimit.
func parseLimit(s string) (int32, error) {
	if s == "" {
		return defaultListLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxListLimit {
		return 0, refuse(errInvalidLimit, fmt.Sprintf("The limit is a number from 1 to %d.", maxListLimit), fmt.Errorf("limit %q", s))
	}
	return int32(n), nil
}

// badCursor is what a page cursor the backends did not make is answered
// with.
const badCursor = "The cursor is the next_cursor of the page before."

// listRooms reads one page of rooms. A cursor the backend refuses (the
// only argument it can refuse once the limit is checked) is errInvalidCursor.
func (h *Handlers) listRooms(ctx context.Context, req *pb.ListRoomsRequest) (*pb.ListRoomsReply, error) {
	if len(req.GetCursor()) > maxCursorLen {
		return nil, refuse(errInvalidCursor, badCursor, fmt.Errorf("cursor of %d bytes", len(req.GetCursor())))
	}
	page, err := h.cfg.Game.ListRooms(ctx, req)
	if status.Code(err) == codes.InvalidArgument && req.GetCursor() != "" {
		return nil, refuse(errInvalidCursor, badCursor, fmt.Errorf("cursor %q: %w", req.GetCursor(), err))
	}
	return page, err
}

// openRooms is a page of the open rooms for the home page, after cursor.
func (h *Handlers) openRooms(ctx context.Context, cursor string) ([]web.RoomSummary, string, error) {
	page, err := h.listRooms(ctx, &pb.ListRoomsRequest{Limit: homeRooms, Cursor: cursor, Status: pb.RoundStatus_ROUND_STATUS_PLAYING})
	if err != nil {
		return nil, "", err
	}
	out := make([]web.RoomSummary, 0, len(page.GetRooms()))
	for _, room := range page.GetRooms() {
		out = append(out, roomSummary(room))
	}
	return out, page.GetNextCursor(), nil
}

// leaderboardCache keeps the last leaderboard for leaderboardTTL, so that
// however many ask, the backends are asked at most once per TTL: one
// request reads while the others wait for its result.
type leaderboardCache struct {
	mu      sync.Mutex
	at      time.Time
	entries []web.LeaderEntry
}

// cachedLeaderboard returns the leaderboardSize best players, at most
// leaderboardTTL old, from the backends' scores gossip: it works while
// Raft has no quorum.
func (h *Handlers) cachedLeaderboard(ctx context.Context) ([]web.LeaderEntry, error) {
	c := &h.board
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries != nil && time.Since(c.at) < leaderboardTTL {
		return c.entries, nil
	}
	top, err := h.cfg.Game.TopScores(ctx, &pb.TopRequest{Limit: leaderboardSize})
	if err != nil {
		return nil, err
	}
	board := make([]web.LeaderEntry, 0, len(top.GetEntries()))
	for _, e := range top.GetEntries() {
		name := e.GetName()
		if name == "" {
			name = e.GetPlayerId()
		}
		board = append(board, web.LeaderEntry{Rank: len(board) + 1, Name: name, Points: int(e.GetScore()), Rooms: int(e.GetRooms())})
	}
	c.entries, c.at = board, time.Now()
	return c.entries, nil
}

// rematchForm starts the next match as this browser's session (the
// backends let only the host, once the match is over) and goes back to
// the room, as the next-round form does. The form's match is the match
// the page showed over (empty: the match now), its word the host's word
// for a custom-word room (empty: one from the lists).
func (h *Handlers) rematchForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	s, ok := h.requireSession(w, r)
	if !ok {
		return
	}
	match, err := parseMatch(r.FormValue("match"))
	if err == nil {
		_, err = h.rematch(r.Context(), r.PathValue("id"), s, rematchBody{Match: match, Word: strings.TrimSpace(r.FormValue("word"))})
	}
	h.backToRoom(w, r, err)
}

// parseMatch reads a form's match number; empty is 0, the match now.
func parseMatch(s string) (int32, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, refuse(errBadRequest, "The match is a whole number.", err)
	}
	return int32(n), nil
}
