package handlers

import (
	"context"
	"fmt"
	"strconv"
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
		return 0, fmt.Errorf("%w: limit %q: want a number from 1 to %d", errInvalidLimit, s, maxListLimit)
	}
	return int32(n), nil
}

// listRooms reads one page of rooms. A cursor the backend refuses (the
// only argument it can refuse once the limit is checked) is errInvalidCursor.
func (h *Handlers) listRooms(ctx context.Context, req *pb.ListRoomsRequest) (*pb.ListRoomsReply, error) {
	if len(req.GetCursor()) > maxCursorLen {
		return nil, fmt.Errorf("%w: cursor of %d bytes: use the next_cursor of a page", errInvalidCursor, len(req.GetCursor()))
	}
	page, err := h.cfg.Game.ListRooms(ctx, req)
	if status.Code(err) == codes.InvalidArgument && req.GetCursor() != "" {
		return nil, fmt.Errorf("%w: cursor %q: use the next_cursor of a page", errInvalidCursor, req.GetCursor())
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
