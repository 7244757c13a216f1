package backend_test

import (
	"context"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gallows-game/gallows/backend"
	"github.com/gallows-game/gallows/backend/internal/clustertest"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

const alphabet = "etaoinshrdlcumwfgypbvkjxqz"

func createRoom(t *testing.T, c pb.GameClient) *pb.Room {
	t.Helper()
	ctx := clustertest.Context(t, 10*time.Second)
	// A custom word with many distinct letters keeps a round going for many guesses.
	reply, err := c.CreateRoom(ctx, &pb.CreateRoomRequest{Host: "ana", Word: "quick brown fox jumps lazy dog", MaxLives: 26})
	if err != nil {
		t.Fatalf("create room: %v", err)
	}
	return reply.GetRoom()
}

// roomOn reads the room as node n has applied it.
func roomOn(t *testing.T, n *backend.Node, id string) (version uint64, guessed []string) {
	t.Helper()
	r, ok := n.Store().Room(id)
	if !ok {
		return 0, nil
	}
	return r.Version, r.Guessed
}

func TestWriteToFollowerIsApplied(t *testing.T) {
	c := clustertest.New(t, 3)
	f := c.Followers()[0]
	room := createRoom(t, c.Client(f.ID()))
	ctx := clustertest.Context(t, 10*time.Second)
	reply, err := c.Client(f.ID()).Guess(ctx, &pb.GuessRequest{RoomId: room.GetId(), Player: "bo", Letter: "O", RequestId: "bo-1"})
	if err != nil {
		t.Fatalf("guess via follower %s: %v", f.ID(), err)
	}
	if !reply.GetHit() || reply.GetRoom().GetVersion() != room.GetVersion()+1 {
		t.Fatalf("guess reply = %v, want a hit at version %d", reply, room.GetVersion()+1)
	}
	c.AppliedEverywhere(reply.GetRoom().GetRaftIndex())
	for _, n := range c.Running() {
		if v, g := roomOn(t, n, room.GetId()); v != reply.GetRoom().GetVersion() || !slices.Equal(g, []string{"o"}) {
			t.Errorf("node %s has version %d guessed %v, want %d [o]", n.ID(), v, g, reply.GetRoom().GetVersion())
		}
	}
}

// guesser plays letters into a room through whichever node answers,
// remembering every acknowledged guess.
type guesser struct {
	t     *testing.T
	c     *clustertest.Cluster
	room  string
	next  int
	acked map[string]uint64 // letter -> version acknowledged
}

func newGuesser(t *testing.T, c *clustertest.Cluster, room string) *guesser {
	return &guesser{t: t, c: c, room: room, acked: map[string]uint64{}}
}

// guess sends the next letter to node id and reports the acknowledged version.
func (g *guesser) guess(id string) (uint64, error) {
	g.t.Helper()
	letter := string(alphabet[g.next])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reply, err := g.c.Client(id).Guess(ctx, &pb.GuessRequest{RoomId: g.room, Player: "bo", Letter: letter, RequestId: "bo-" + letter})
	if err != nil {
		return 0, err
	}
	g.next++
	g.acked[letter] = reply.GetRoom().GetVersion()
	return reply.GetRoom().GetVersion(), nil
}

// checkAll asserts that every running node holds every acknowledged guess,
// each once, and that all nodes agree on the room.
func (g *guesser) checkAll(lastVersion uint64) {
	g.t.Helper()
	running := g.c.Running()
	clustertest.Eventually(g.t, 10*time.Second, "every node at the last acknowledged version", func() bool {
		for _, n := range running {
			if v, _ := roomOn(g.t, n, g.room); v < lastVersion {
				return false
			}
		}
		return true
	})
	want, _ := running[0].Store().Room(g.room)
	for _, n := range running {
		r, _ := n.Store().Room(g.room)
		seen := map[string]int{}
		for _, e := range r.Log {
			seen[e.Letter]++
		}
		for letter, v := range g.acked {
			if seen[letter] != 1 {
				g.t.Errorf("node %s: acknowledged guess %q (version %d) applied %d times", n.ID(), letter, v, seen[letter])
			}
		}
		if r.Version != want.Version || !slices.Equal(r.Guessed, want.Guessed) {
			g.t.Errorf("node %s: version %d guessed %v; node %s: version %d guessed %v",
				n.ID(), r.Version, r.Guessed, running[0].ID(), want.Version, want.Guessed)
		}
	}
}

func TestLeaderKilledGuessesGoOnAndRestartedNodeCatchesUp(t *testing.T) {
	c := clustertest.New(t, 3)
	room := createRoom(t, c.Client(c.Leader().ID()))
	g := newGuesser(t, c, room.GetId())
	for range 5 {
		if _, err := g.guess(c.Leader().ID()); err != nil {
			t.Fatalf("guess before kill: %v", err)
		}
	}
	old := c.Leader().ID()
	survivor := c.Followers()[0].ID()
	killed := time.Now()
	c.Kill(old)
	// The next guess, sent to a survivor, waits for the new leader instead of failing.
	v, err := g.guess(survivor)
	if err != nil {
		t.Fatalf("first guess after killing leader %s: %v", old, err)
	}
	t.Logf("guess acknowledged %v after killing the leader", time.Since(killed))
	nl := c.WaitForNewLeader(old)
	for range 5 {
		if v, err = g.guess(nl.ID()); err != nil {
			t.Fatalf("guess after failover: %v", err)
		}
	}
	g.checkAll(v)

	// The old leader comes back on its data dir and catches up.
	c.Restart(old)
	for range 3 {
		if v, err = g.guess(survivor); err != nil {
			t.Fatalf("guess after restart: %v", err)
		}
	}
	g.checkAll(v)
	if got := len(c.Running()); got != 3 {
		t.Fatalf("running nodes = %d, want 3", got)
	}
}

func TestRetriedGuessIsAppliedOnce(t *testing.T) {
	c := clustertest.New(t, 3)
	room := createRoom(t, c.Client(c.Leader().ID()))
	req := &pb.GuessRequest{RoomId: room.GetId(), Player: "cy", Letter: "q", RequestId: "tab7-1"}
	var replies []*pb.GuessReply
	// The same request three times, through three different nodes.
	for _, id := range c.IDs() {
		ctx := clustertest.Context(t, 10*time.Second)
		r, err := c.Client(id).Guess(ctx, req)
		if err != nil {
			t.Fatalf("guess via %s: %v", id, err)
		}
		replies = append(replies, r)
	}
	for i, r := range replies {
		if !r.GetHit() || r.GetRoom().GetVersion() != room.GetVersion()+1 || r.GetDuplicate() != (i > 0) {
			t.Errorf("reply %d: hit=%v version=%d duplicate=%v; want hit at version %d, duplicate=%v",
				i, r.GetHit(), r.GetRoom().GetVersion(), r.GetDuplicate(), room.GetVersion()+1, i > 0)
		}
	}
	c.AppliedEverywhere(c.Leader().Store().Stats().CommitIndex)
	for _, n := range c.Running() {
		r, _ := n.Store().Room(room.GetId())
		if len(r.Log) != 1 || r.Version != room.GetVersion()+1 {
			t.Errorf("node %s: log %v version %d; want one guess at version %d", n.ID(), r.Log, r.Version, room.GetVersion()+1)
		}
	}
}

func TestLaggingNodeCatchesUpFromSnapshot(t *testing.T) {
	c := clustertest.New(t, 3, func(cfg *backend.Config) {
		cfg.SnapshotThreshold = 16
		cfg.TrailingLogs = 8
		// Small WAL segments, so compaction really drops the old entries.
		cfg.SegmentSize = 4096
	})
	lagging := c.Followers()[0].ID()
	c.Kill(lagging)
	leader := c.Leader()
	ctx := clustertest.Context(t, 30*time.Second)
	var rooms []string
	// Far more entries than threshold + trailing logs, one room each.
	for range 150 {
		r, err := c.Client(leader.ID()).CreateRoom(ctx, &pb.CreateRoomRequest{Host: "di", Category: "animals", Difficulty: "easy"})
		if err != nil {
			t.Fatalf("create room: %v", err)
		}
		rooms = append(rooms, r.GetRoom().GetId())
	}
	if err := leader.Store().Snapshot(); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	n := c.Restart(lagging)
	// The leader no longer has the entries the node missed: only a snapshot can bring it up to date.
	clustertest.Eventually(t, 20*time.Second, "the lagging node to install a snapshot and hold every room", func() bool {
		return n.Store().Raft().Stats()["last_snapshot_index"] != "0" && len(n.Store().Rooms()) == len(rooms)
	})
	for _, id := range rooms {
		if _, ok := n.Store().Room(id); !ok {
			t.Errorf("room %s missing on the restarted node", id)
		}
	}
}

func TestWatchOnFollowerIsGaplessAcrossLeaderChange(t *testing.T) {
	c := clustertest.New(t, 3)
	room := createRoom(t, c.Client(c.Leader().ID()))
	old := c.Leader().ID()
	watcher := c.Followers()[0].ID()
	ctx := clustertest.Context(t, 60*time.Second)
	stream, err := c.Client(watcher).WatchRoom(ctx, &pb.WatchRoomRequest{RoomId: room.GetId()})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	events := make(chan *pb.RoomEvent, 256)
	errc := make(chan error, 1)
	go func() {
		for {
			ev, err := stream.Recv()
			if err != nil {
				errc <- err
				return
			}
			events <- ev
		}
	}()

	g := newGuesser(t, c, room.GetId())
	var last uint64
	for i := range 16 {
		if i == 8 {
			c.Kill(old)
		}
		v, err := g.guess(watcher)
		if err != nil {
			t.Fatalf("guess %d: %v", i, err)
		}
		last = v
	}
	if nl := c.Leader().ID(); nl == old {
		t.Fatalf("leader is still %s", old)
	}
	want := room.GetVersion()
	for want <= last {
		select {
		case ev := <-events:
			if ev.GetRoom().GetVersion() != want {
				t.Fatalf("watch delivered version %d, want %d (no gaps, in order)", ev.GetRoom().GetVersion(), want)
			}
			if ev.GetServedBy() != watcher {
				t.Fatalf("event served by %s, want %s", ev.GetServedBy(), watcher)
			}
			if ev.GetRoom().GetWord() != "" {
				t.Fatalf("watch leaked the secret word at version %d", want)
			}
			want++
		case err := <-errc:
			t.Fatalf("watch ended at version %d: %v", want, err)
		case <-ctx.Done():
			t.Fatalf("watch stalled before version %d", want)
		}
	}
}

func TestErrorsBecomeStatusCodes(t *testing.T) {
	c := clustertest.New(t, 3)
	f := c.Followers()[0].ID()
	room := createRoom(t, c.Client(f))
	cl := c.Client(f)
	ctx := clustertest.Context(t, 10*time.Second)
	if _, err := cl.Guess(ctx, &pb.GuessRequest{RoomId: room.GetId(), Player: "ed", Letter: "q", RequestId: "ed-1"}); err != nil {
		t.Fatalf("guess: %v", err)
	}
	tests := []struct {
		name string
		call func() error
		code codes.Code
	}{
		{"invalid letter", func() error {
			_, err := cl.Guess(ctx, &pb.GuessRequest{RoomId: room.GetId(), Player: "ed", Letter: "7", RequestId: "ed-2"})
			return err
		}, codes.InvalidArgument},
		{"two letters", func() error {
			_, err := cl.Guess(ctx, &pb.GuessRequest{RoomId: room.GetId(), Player: "ed", Letter: "ab", RequestId: "ed-3"})
			return err
		}, codes.InvalidArgument},
		{"already guessed", func() error {
			_, err := cl.Guess(ctx, &pb.GuessRequest{RoomId: room.GetId(), Player: "ed", Letter: "Q", RequestId: "ed-4"})
			return err
		}, codes.FailedPrecondition},
		{"unknown room", func() error {
			_, err := cl.Guess(ctx, &pb.GuessRequest{RoomId: "ZZZZZ", Player: "ed", Letter: "a", RequestId: "ed-5"})
			return err
		}, codes.NotFound},
		{"unknown category", func() error {
			_, err := cl.CreateRoom(ctx, &pb.CreateRoomRequest{Host: "ed", Category: "nope"})
			return err
		}, codes.InvalidArgument},
		{"round not over", func() error {
			_, err := cl.NextRound(ctx, &pb.NextRoundRequest{RoomId: room.GetId(), Player: "ed"})
			return err
		}, codes.FailedPrecondition},
		{"get unknown room", func() error {
			_, err := cl.GetRoom(ctx, &pb.GetRoomRequest{RoomId: "ZZZZZ"})
			return err
		}, codes.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := status.Code(tt.call()); got != tt.code {
				t.Errorf("code = %v, want %v", got, tt.code)
			}
		})
	}
	// Reads are local: wait until the follower has applied all the leader has.
	c.AppliedEverywhere(c.Leader().Store().Stats().AppliedIndex)
	after, err := cl.GetRoom(ctx, &pb.GetRoomRequest{RoomId: room.GetId()})
	if err != nil {
		t.Fatalf("get room: %v", err)
	}
	if after.GetRoom().GetVersion() != room.GetVersion()+1 {
		t.Errorf("refused requests changed the room: version %d, want %d", after.GetRoom().GetVersion(), room.GetVersion()+1)
	}
}

func TestNoQuorumIsUnavailable(t *testing.T) {
	c := clustertest.New(t, 3)
	room := createRoom(t, c.Client(c.Leader().ID()))
	survivor := c.Followers()[0].ID()
	for _, id := range c.IDs() {
		if id != survivor {
			c.Kill(id)
		}
	}
	ctx := clustertest.Context(t, 20*time.Second)
	_, err := c.Client(survivor).Guess(ctx, &pb.GuessRequest{RoomId: room.GetId(), Player: "fy", Letter: "a", RequestId: "fy-1"})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("guess without quorum: %v, want Unavailable", err)
	}
	if !strings.Contains(err.Error(), "retry") {
		t.Errorf("error %q gives no retry advice", err)
	}
}
