package backend_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gallows-game/gallows/backend"
	"github.com/gallows-game/gallows/backend/game"
	"github.com/gallows-game/gallows/backend/internal/clustertest"
	"github.com/gallows-game/gallows/backend/internal/rpc"
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
	c.AppliedEverywhere(c.Leader().Store().Stats().AppliedIndex)
	for _, n := range c.Running() {
		r, _ := n.Store().Room(room.GetId())
		if len(r.Log) != 1 || r.Version != room.GetVersion()+1 {
			t.Errorf("node %s: log %v version %d; want one guess at version %d", n.ID(), r.Log, r.Version, room.GetVersion()+1)
		}
	}
}

func TestRetriedCreateMakesOneRoom(t *testing.T) {
	c := clustertest.New(t, 3)
	req := &pb.CreateRoomRequest{Host: "dee", Category: "animals", RequestId: "tab3-create-1"}
	var rooms []string
	// The same request three times, through three different nodes: each
	// proposal picks its own code and word, and only the first is applied.
	for _, id := range c.IDs() {
		ctx := clustertest.Context(t, 10*time.Second)
		r, err := c.Client(id).CreateRoom(ctx, req)
		if err != nil {
			t.Fatalf("create via %s: %v", id, err)
		}
		rooms = append(rooms, r.GetRoom().GetId())
	}
	if rooms[1] != rooms[0] || rooms[2] != rooms[0] {
		t.Fatalf("three creates with one request id made rooms %v", rooms)
	}
	// Another request id, or another host, is another room.
	for _, other := range []*pb.CreateRoomRequest{
		{Host: "dee", Category: "animals", RequestId: "tab3-create-2"},
		{Host: "eve", Category: "animals", RequestId: "tab3-create-1"},
	} {
		r, err := c.Client(c.Leader().ID()).CreateRoom(clustertest.Context(t, 10*time.Second), other)
		if err != nil {
			t.Fatalf("create %v: %v", other, err)
		}
		if r.GetRoom().GetId() == rooms[0] {
			t.Errorf("create %v returned the first room", other)
		}
	}
	c.AppliedEverywhere(c.Leader().Store().Stats().AppliedIndex)
	for _, n := range c.Running() {
		if got := len(n.Store().Rooms()); got != 3 {
			t.Errorf("node %s holds %d rooms, want 3", n.ID(), got)
		}
	}
}

// A create sent without a request id gets one from the node that takes
// it, so that a forward sent again after a leader change makes one room.
func TestCreateWithoutRequestIDGetsOne(t *testing.T) {
	c := clustertest.New(t, 3)
	follower := c.Followers()[0]
	r, err := c.Client(follower.ID()).CreateRoom(clustertest.Context(t, 10*time.Second), &pb.CreateRoomRequest{Host: "dee", Category: "animals"})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	room, ok := c.Leader().Store().Room(r.GetRoom().GetId())
	if !ok || !strings.HasPrefix(room.CreateRequest, follower.ID()+"-") {
		t.Fatalf("room %s on the leader: found %v, create request %q; want one set by %s", r.GetRoom().GetId(), ok, room.CreateRequest, follower.ID())
	}
}

// A guess that comes without a request id gets one from the node that
// takes it, alone, in a batch or on a stream, so that a second sending on
// its way to the leader is answered as the first.
func TestGuessWithoutRequestIDGetsOne(t *testing.T) {
	c := clustertest.New(t, 3)
	follower := c.Followers()[0]
	cl := c.Client(follower.ID())
	room := createRoom(t, cl)
	ctx := clustertest.Context(t, 20*time.Second)
	tests := []struct {
		via   string
		guess func(req *pb.GuessRequest) error
	}{
		{"guess", func(req *pb.GuessRequest) error { _, err := cl.Guess(ctx, req); return err }},
		{"batch", func(req *pb.GuessRequest) error {
			rep, err := cl.GuessBatch(ctx, &pb.GuessBatchRequest{Guesses: []*pb.GuessRequest{req}})
			if err == nil && rep.GetOutcomes()[0].GetReply() == nil {
				err = fmt.Errorf("outcome %s", outcomeString(rep.GetOutcomes()[0]))
			}
			return err
		}},
		{"stream", func(req *pb.GuessRequest) error {
			stream, err := cl.GuessStream(ctx)
			if err != nil {
				return err
			}
			if err := stream.Send(&pb.GuessBatchRequest{Id: 1, Guesses: []*pb.GuessRequest{req}}); err != nil {
				return err
			}
			rep, err := stream.Recv()
			if err == nil && rep.GetOutcomes()[0].GetReply() == nil {
				err = fmt.Errorf("outcome %s", outcomeString(rep.GetOutcomes()[0]))
			}
			return err
		}},
	}
	for i, tc := range tests {
		t.Run(tc.via, func(t *testing.T) {
			player := fmt.Sprintf("p%d", i)
			if err := tc.guess(&pb.GuessRequest{RoomId: room.GetId(), Player: player, Letter: string(alphabet[i])}); err != nil {
				t.Fatalf("guess: %v", err)
			}
			r, ok := c.Leader().Store().Room(room.GetId())
			if !ok {
				t.Fatalf("room %s not on the leader", room.GetId())
			}
			i := slices.IndexFunc(r.Players, func(p game.Player) bool { return p.Name == player })
			if i < 0 || !strings.HasPrefix(r.Players[i].LastRequest.ID, follower.ID()+"-") {
				t.Fatalf("player %s on the leader: %+v; want a last request id set by %s", player, r.Players, follower.ID())
			}
		})
	}
}

// A brief guess reply is the room without its players and log, alone or
// in a batch, and a full one has them.
func TestBriefGuessReply(t *testing.T) {
	c := clustertest.New(t, 3)
	client := c.Client(c.Followers()[0].ID()) // forwarded, brief and all
	room := createRoom(t, client)
	ctx := clustertest.Context(t, 10*time.Second)
	full, err := client.Guess(ctx, &pb.GuessRequest{RoomId: room.GetId(), Player: "bo", Letter: "q", RequestId: "bo-q"})
	if err != nil {
		t.Fatal(err)
	}
	brief, err := client.Guess(ctx, &pb.GuessRequest{RoomId: room.GetId(), Player: "bo", Letter: "u", RequestId: "bo-u", Brief: true})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := client.GuessBatch(ctx, &pb.GuessBatchRequest{Guesses: []*pb.GuessRequest{
		{RoomId: room.GetId(), Player: "cy", Letter: "i", RequestId: "cy-i", Brief: true},
		{RoomId: room.GetId(), Player: "cy", Letter: "c", RequestId: "cy-c"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		room  *pb.Room
		brief bool
	}{
		{"full", full.GetRoom(), false},
		{"brief", brief.GetRoom(), true},
		{"brief in a batch", batch.GetOutcomes()[0].GetReply().GetRoom(), true},
		{"full in a batch", batch.GetOutcomes()[1].GetReply().GetRoom(), false},
	} {
		r := tc.room
		if r.GetId() != room.GetId() || r.GetVersion() < 2 || len(r.GetGuessed()) == 0 || r.GetMasked() == "" || r.GetLivesLeft() == 0 {
			t.Errorf("%s: room %v lacks what a brief room keeps", tc.name, r)
		}
		if got := len(r.GetPlayers()) == 0 && len(r.GetLog()) == 0; got != tc.brief {
			t.Errorf("%s: %d players and %d log entries", tc.name, len(r.GetPlayers()), len(r.GetLog()))
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
	// The snapshot counts as applied, though no command came after it.
	snap, err := strconv.ParseUint(n.Store().Raft().Stats()["last_snapshot_index"], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if applied := n.Store().Stats().AppliedIndex; applied < snap {
		t.Errorf("applied index %d after installing the snapshot of index %d", applied, snap)
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

// outcomeString describes a batch outcome for test failures.
func outcomeString(o *pb.GuessOutcome) string {
	if e := o.GetError(); e != nil {
		return fmt.Sprintf("error %v %v %q", codes.Code(e.GetCode()), e.GetReason(), e.GetMessage())
	}
	r := o.GetReply()
	return fmt.Sprintf("reply hit=%v duplicate=%v room %s v%d guessed %v",
		r.GetHit(), r.GetDuplicate(), r.GetRoom().GetId(), r.GetRoom().GetVersion(), r.GetRoom().GetGuessed())
}

func TestGuessBatch(t *testing.T) {
	c := clustertest.New(t, 3)
	f := c.Followers()[0].ID()
	cl := c.Client(f)
	ctx := clustertest.Context(t, 30*time.Second)
	a, b := createRoom(t, cl), createRoom(t, cl)
	if _, err := cl.Guess(ctx, &pb.GuessRequest{RoomId: a.GetId(), Player: "bo", Letter: "q", RequestId: "bo-1"}); err != nil {
		t.Fatalf("guess: %v", err)
	}
	// A room whose round is lost, and a room with no seat left.
	over, err := cl.CreateRoom(ctx, &pb.CreateRoomRequest{Host: "ana", Word: "ox", MaxLives: 1})
	if err != nil {
		t.Fatalf("create room: %v", err)
	}
	if r, err := cl.Guess(ctx, &pb.GuessRequest{RoomId: over.GetRoom().GetId(), Player: "ana", Letter: "e"}); err != nil || r.GetRoom().GetStatus() != pb.RoundStatus_ROUND_STATUS_LOST {
		t.Fatalf("losing guess: %v, %v", r, err)
	}
	full := createRoom(t, cl)
	var wg sync.WaitGroup
	joinErrs := make(chan error, game.MaxPlayersPerRoom)
	for i := range game.MaxPlayersPerRoom - 1 { // the host is the first player
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := cl.Join(ctx, &pb.JoinRequest{RoomId: full.GetId(), Player: fmt.Sprintf("p%d", i)}); err != nil {
				joinErrs <- err
			}
		}()
	}
	wg.Wait()
	close(joinErrs)
	for err := range joinErrs {
		t.Fatalf("join: %v", err)
	}
	c.AppliedEverywhere(c.Leader().Store().Stats().AppliedIndex)
	va, _ := roomOn(t, c.Leader(), a.GetId())
	vb, _ := roomOn(t, c.Leader(), b.GetId())

	// The word is "quick brown fox jumps lazy dog": "e" is a miss. Every
	// applied guess is its player's only one in the room, so that a retry
	// of the whole batch repeats each player's last request.
	tests := []struct {
		name  string
		guess *pb.GuessRequest
		// An applied guess: the letter the reply's room holds, hit, duplicate.
		letter   string
		hit, dup bool
		// A refused guess: its code and reason.
		code   codes.Code
		reason pb.ErrorReason
	}{
		{name: "hit in room a", guess: &pb.GuessRequest{RoomId: a.GetId(), Player: "cy", Letter: "U", RequestId: "cy-1"},
			letter: "u", hit: true},
		{name: "miss in room b", guess: &pb.GuessRequest{RoomId: strings.ToLower(b.GetId()), Player: "cy", Letter: "e", RequestId: "cy-2"},
			letter: "e"},
		{name: "hit in room b", guess: &pb.GuessRequest{RoomId: b.GetId(), Player: "di", Letter: "o", RequestId: "di-1"},
			letter: "o", hit: true},
		{name: "invalid letter", guess: &pb.GuessRequest{RoomId: a.GetId(), Player: "ed", Letter: "7", RequestId: "ed-1"},
			code: codes.InvalidArgument, reason: pb.ErrorReason_ERROR_REASON_INVALID_LETTER},
		{name: "two letters", guess: &pb.GuessRequest{RoomId: a.GetId(), Player: "ed", Letter: "ab", RequestId: "ed-2"},
			code: codes.InvalidArgument, reason: pb.ErrorReason_ERROR_REASON_INVALID_LETTER},
		{name: "guessed before the batch", guess: &pb.GuessRequest{RoomId: a.GetId(), Player: "ed", Letter: "Q", RequestId: "ed-3"},
			code: codes.FailedPrecondition, reason: pb.ErrorReason_ERROR_REASON_ALREADY_GUESSED},
		{name: "guessed earlier in the batch", guess: &pb.GuessRequest{RoomId: b.GetId(), Player: "fy", Letter: "O", RequestId: "fy-1"},
			code: codes.FailedPrecondition, reason: pb.ErrorReason_ERROR_REASON_ALREADY_GUESSED},
		{name: "unknown room", guess: &pb.GuessRequest{RoomId: "ZZZZZ", Player: "ed", Letter: "a", RequestId: "ed-4"},
			code: codes.NotFound, reason: pb.ErrorReason_ERROR_REASON_NOT_FOUND},
		{name: "round over", guess: &pb.GuessRequest{RoomId: over.GetRoom().GetId(), Player: "gus", Letter: "o", RequestId: "gus-1"},
			code: codes.FailedPrecondition, reason: pb.ErrorReason_ERROR_REASON_ROUND_OVER},
		{name: "room full", guess: &pb.GuessRequest{RoomId: full.GetId(), Player: "gus", Letter: "o", RequestId: "gus-2"},
			code: codes.FailedPrecondition, reason: pb.ErrorReason_ERROR_REASON_ROOM_FULL},
		{name: "no player name", guess: &pb.GuessRequest{RoomId: a.GetId(), Player: " ", Letter: "i", RequestId: "x-1"},
			code: codes.InvalidArgument, reason: pb.ErrorReason_ERROR_REASON_BAD_REQUEST},
		{name: "retry of an applied guess", guess: &pb.GuessRequest{RoomId: a.GetId(), Player: "bo", Letter: "q", RequestId: "bo-1"},
			letter: "q", hit: true, dup: true},
		{name: "hit in room a after refusals", guess: &pb.GuessRequest{RoomId: a.GetId(), Player: "hal", Letter: "i", RequestId: "hal-1"},
			letter: "i", hit: true},
	}
	req := &pb.GuessBatchRequest{}
	for _, tt := range tests {
		req.Guesses = append(req.Guesses, tt.guess)
	}
	applied := 0 // guesses that change a room
	for _, tt := range tests {
		if tt.letter != "" && !tt.dup {
			applied++
		}
	}
	if applied != 4 {
		t.Fatalf("test table applies %d guesses, the version checks assume 4", applied)
	}

	for _, send := range []struct {
		name  string
		retry bool
	}{{"first", false}, {"again", true}} {
		t.Run(send.name, func(t *testing.T) {
			reply, err := cl.GuessBatch(ctx, req)
			if err != nil {
				t.Fatalf("guess batch via follower %s: %v", f, err)
			}
			if len(reply.GetOutcomes()) != len(tests) {
				t.Fatalf("%d outcomes for %d guesses", len(reply.GetOutcomes()), len(tests))
			}
			var index uint64 // the log entry that carried the batch's guesses
			for i, tt := range tests {
				o := reply.GetOutcomes()[i]
				if tt.letter == "" {
					e := o.GetError()
					if e == nil || codes.Code(e.GetCode()) != tt.code || e.GetReason() != tt.reason || e.GetMessage() == "" {
						t.Errorf("guess %d (%s): %s; want error %v %v with a message", i, tt.name, outcomeString(o), tt.code, tt.reason)
					}
					continue
				}
				r := o.GetReply()
				if r == nil || r.GetHit() != tt.hit || r.GetDuplicate() != (tt.dup || send.retry) ||
					!slices.Contains(r.GetRoom().GetGuessed(), tt.letter) {
					t.Errorf("guess %d (%s): %s; want hit=%v duplicate=%v and %q guessed",
						i, tt.name, outcomeString(o), tt.hit, tt.dup || send.retry, tt.letter)
					continue
				}
				if index == 0 {
					index = r.GetRoom().GetRaftIndex()
				} else if r.GetRoom().GetRaftIndex() != index {
					t.Errorf("guess %d (%s) carried by log entry %d, earlier guesses of the batch by %d",
						i, tt.name, r.GetRoom().GetRaftIndex(), index)
				}
			}
			// The applied guesses changed their rooms once, the refused ones not at all.
			c.AppliedEverywhere(c.Leader().Store().Stats().AppliedIndex)
			if v, _ := roomOn(t, c.Leader(), a.GetId()); v != va+2 {
				t.Errorf("room a at version %d, want %d", v, va+2)
			}
			if v, _ := roomOn(t, c.Leader(), b.GetId()); v != vb+2 {
				t.Errorf("room b at version %d, want %d", v, vb+2)
			}
		})
	}

	// Each refused guess gets what the unary Guess gets for it.
	for i, tt := range tests {
		if tt.letter != "" {
			continue
		}
		_, err := cl.Guess(ctx, tt.guess)
		st, _ := status.FromError(err)
		again, berr := cl.GuessBatch(ctx, &pb.GuessBatchRequest{Guesses: []*pb.GuessRequest{tt.guess}})
		if berr != nil || len(again.GetOutcomes()) != 1 {
			t.Fatalf("guess %d (%s) alone in a batch: %v, %v", i, tt.name, again, berr)
		}
		e := again.GetOutcomes()[0].GetError()
		if st.Code() != codes.Code(e.GetCode()) || rpc.Reason(err) != e.GetReason() || st.Message() != e.GetMessage() {
			t.Errorf("guess %d (%s): Guess fails with %v %v %q, GuessBatch with %s",
				i, tt.name, st.Code(), rpc.Reason(err), st.Message(), outcomeString(again.GetOutcomes()[0]))
		}
	}

	// A batch holds 1 to rpc.MaxGuessBatch guesses.
	many := func(n int) *pb.GuessBatchRequest {
		r := &pb.GuessBatchRequest{}
		for i := range n {
			r.Guesses = append(r.Guesses, &pb.GuessRequest{RoomId: "ZZZZZ", Player: "ed", Letter: "a", RequestId: fmt.Sprint(i)})
		}
		return r
	}
	for _, n := range []int{0, rpc.MaxGuessBatch + 1} {
		if _, err := cl.GuessBatch(ctx, many(n)); status.Code(err) != codes.InvalidArgument || rpc.Reason(err) != pb.ErrorReason_ERROR_REASON_BAD_REQUEST {
			t.Errorf("batch of %d guesses: %v, want InvalidArgument BAD_REQUEST", n, err)
		}
	}
	if reply, err := cl.GuessBatch(ctx, many(rpc.MaxGuessBatch)); err != nil || len(reply.GetOutcomes()) != rpc.MaxGuessBatch {
		t.Errorf("batch of %d guesses: %d outcomes, %v; want all answered", rpc.MaxGuessBatch, len(reply.GetOutcomes()), err)
	} else if e := reply.GetOutcomes()[rpc.MaxGuessBatch-1].GetError(); codes.Code(e.GetCode()) != codes.NotFound {
		t.Errorf("last guess of the batch: %s, want NotFound", outcomeString(reply.GetOutcomes()[rpc.MaxGuessBatch-1]))
	}

	// Every node agrees on the rooms.
	c.AppliedEverywhere(c.Leader().Store().Stats().AppliedIndex)
	for _, id := range []string{a.GetId(), b.GetId(), over.GetRoom().GetId(), full.GetId()} {
		wantV, wantG := roomOn(t, c.Leader(), id)
		for _, n := range c.Running() {
			if v, g := roomOn(t, n, id); v != wantV || !slices.Equal(g, wantG) {
				t.Errorf("room %s on node %s: version %d guessed %v; on the leader: version %d guessed %v",
					id, n.ID(), v, g, wantV, wantG)
			}
		}
	}
	if _, g := roomOn(t, c.Leader(), a.GetId()); !slices.Equal(g, []string{"q", "u", "i"}) {
		t.Errorf("room a guessed %v, want [q u i]", g)
	}
	if _, g := roomOn(t, c.Leader(), b.GetId()); !slices.Equal(g, []string{"e", "o"}) {
		t.Errorf("room b guessed %v, want [e o]", g)
	}
}

// TestGuessBatchOfLargestRoomsFitsOneMessage: a full batch whose every
// reply carries the largest room there can be (every player of record,
// each with the longest name) still fits gRPC's default message size, sent
// to a follower (forwarded) and to the leader.
func TestGuessBatchOfLargestRoomsFitsOneMessage(t *testing.T) {
	c := clustertest.New(t, 3)
	ctx := clustertest.Context(t, 60*time.Second)
	follower := c.Client(c.Followers()[0].ID())
	room := createRoom(t, follower)
	name := func(i int) string { return fmt.Sprintf("%02d", i) + strings.Repeat("名", game.MaxNameLen-2) }
	for i := range game.MaxPlayersPerRoom - 1 {
		if _, err := follower.Join(ctx, &pb.JoinRequest{RoomId: room.GetId(), Player: name(i)}); err != nil {
			t.Fatalf("join %d: %v", i, err)
		}
	}
	g := &pb.GuessRequest{RoomId: room.GetId(), Player: name(0), Letter: "q", RequestId: "r1"}
	if _, err := follower.Guess(ctx, g); err != nil {
		t.Fatalf("guess: %v", err)
	}
	req := &pb.GuessBatchRequest{}
	for range rpc.MaxGuessBatch {
		req.Guesses = append(req.Guesses, g) // retries: each answered with the whole room
	}
	for _, cl := range []pb.GameClient{follower, c.Client(c.Leader().ID())} {
		reply, err := cl.GuessBatch(ctx, req)
		if err != nil {
			t.Fatalf("batch of %d: %v", rpc.MaxGuessBatch, err)
		}
		for i, o := range reply.GetOutcomes() {
			if !o.GetReply().GetDuplicate() || len(o.GetReply().GetRoom().GetPlayers()) != game.MaxPlayersPerRoom {
				t.Fatalf("outcome %d: %s, want a duplicate with a full room", i, outcomeString(o))
			}
		}
	}
}

// TestGuessStream: batches sent on one stream without waiting are each
// answered, tagged with their ids, as GuessBatch answers them; a batch the
// backend cannot take gets its error for every guess, and the stream goes
// on. On a follower the batches are forwarded; the leader proposes them
// from the stream's reader and answers them from the store.
func TestGuessStream(t *testing.T) {
	c := clustertest.New(t, 3)
	for _, via := range []string{"follower", "leader"} {
		t.Run(via, func(t *testing.T) {
			node := c.Leader()
			if via == "follower" {
				node = c.Followers()[0]
			}
			testGuessStream(t, c, c.Client(node.ID()))
		})
	}
}

func testGuessStream(t *testing.T, c *clustertest.Cluster, cl pb.GameClient) {
	ctx := clustertest.Context(t, 20*time.Second)
	a, b := createRoom(t, cl), createRoom(t, cl)
	stream, err := cl.GuessStream(ctx)
	if err != nil {
		t.Fatalf("open stream: %v", err)
	}
	g := func(room *pb.Room, letter, id string) *pb.GuessRequest {
		return &pb.GuessRequest{RoomId: room.GetId(), Player: "ed", Letter: letter, RequestId: id}
	}
	tooMany := &pb.GuessBatchRequest{Id: 3}
	for i := range rpc.MaxGuessBatch + 1 {
		tooMany.Guesses = append(tooMany.Guesses, g(a, "z", fmt.Sprint("many-", i)))
	}
	batches := []*pb.GuessBatchRequest{
		{Id: 1, Guesses: []*pb.GuessRequest{g(a, "e", "a-e"), g(b, "7", "b-7")}},
		{Id: 2, Guesses: []*pb.GuessRequest{g(b, "e", "b-e")}, TimeoutMs: 5000},
		tooMany,
		{Id: 4, Guesses: []*pb.GuessRequest{g(a, "e", "a-e")}}, // a retry of batch 1's first guess
	}
	for _, req := range batches[:3] {
		if err := stream.Send(req); err != nil {
			t.Fatalf("send batch %d: %v", req.GetId(), err)
		}
	}
	got := map[uint64]*pb.GuessBatchReply{}
	recv := func() {
		rep, err := stream.Recv()
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		if got[rep.GetId()] != nil {
			t.Fatalf("batch %d answered twice", rep.GetId())
		}
		got[rep.GetId()] = rep
	}
	for range 3 {
		recv()
	}
	// Batch 4 goes after batch 1 is answered, so it is a retry.
	if err := stream.Send(batches[3]); err != nil {
		t.Fatalf("send batch 4: %v", err)
	}
	recv()
	if err := stream.CloseSend(); err != nil {
		t.Fatalf("close send: %v", err)
	}

	if r := got[1].GetOutcomes()[0].GetReply(); !slices.Equal(r.GetRoom().GetGuessed(), []string{"e"}) || r.GetDuplicate() {
		t.Errorf("batch 1, guess 0: %s, want applied", outcomeString(got[1].GetOutcomes()[0]))
	}
	if e := got[1].GetOutcomes()[1].GetError(); codes.Code(e.GetCode()) != codes.InvalidArgument || e.GetReason() != pb.ErrorReason_ERROR_REASON_INVALID_LETTER {
		t.Errorf("batch 1, guess 1: %s, want InvalidArgument INVALID_LETTER", outcomeString(got[1].GetOutcomes()[1]))
	}
	if r := got[2].GetOutcomes()[0].GetReply(); r == nil || r.GetDuplicate() {
		t.Errorf("batch 2: %s, want applied", outcomeString(got[2].GetOutcomes()[0]))
	}
	if n := len(got[3].GetOutcomes()); n != rpc.MaxGuessBatch+1 {
		t.Fatalf("batch 3: %d outcomes, want %d", n, rpc.MaxGuessBatch+1)
	}
	for i, o := range got[3].GetOutcomes() {
		if codes.Code(o.GetError().GetCode()) != codes.InvalidArgument {
			t.Fatalf("batch 3, guess %d: %s, want InvalidArgument", i, outcomeString(o))
		}
	}
	if r := got[4].GetOutcomes()[0].GetReply(); !r.GetDuplicate() {
		t.Errorf("batch 4: %s, want a duplicate of batch 1's guess", outcomeString(got[4].GetOutcomes()[0]))
	}
	c.AppliedEverywhere(c.Leader().Store().Stats().AppliedIndex)
	for _, room := range []*pb.Room{a, b} {
		for _, n := range c.Running() {
			if v, guessed := roomOn(t, n, room.GetId()); v != room.GetVersion()+1 || !slices.Equal(guessed, []string{"e"}) {
				t.Errorf("node %s, room %s: version %d, guessed %v; want %d, [e]", n.ID(), room.GetId(), v, guessed, room.GetVersion()+1)
			}
		}
	}
}

// A node stopped gracefully (SIGTERM) does not wait for the streams its
// clients hold open: watches end at once with Unavailable, so their
// clients resubscribe elsewhere; a guess stream ends the same way once
// every batch taken from it is answered; leadership goes to another node;
// and the stop is over well before its deadline.
func TestGracefulStopEndsStreamsAndAnswersWhatItTook(t *testing.T) {
	c := clustertest.New(t, 3)
	leader := c.Leader()
	cl := c.Client(leader.ID())
	room := createRoom(t, cl)
	ctx := clustertest.Context(t, 60*time.Second)
	watch, err := cl.WatchRoom(ctx, &pb.WatchRoomRequest{RoomId: room.GetId()})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	if _, err := watch.Recv(); err != nil {
		t.Fatalf("first event: %v", err)
	}
	statuses, err := c.ClusterClient(leader.ID()).WatchStatus(ctx, &pb.StatusRequest{})
	if err != nil {
		t.Fatalf("watch status: %v", err)
	}
	if _, err := statuses.Recv(); err != nil {
		t.Fatalf("first status: %v", err)
	}
	guesses, err := cl.GuessStream(ctx)
	if err != nil {
		t.Fatalf("guess stream: %v", err)
	}
	req := &pb.GuessBatchRequest{Id: 1, Guesses: []*pb.GuessRequest{{RoomId: room.GetId(), Player: "ana", Letter: "q", RequestId: "ana-1"}}}
	if err := guesses.Send(req); err != nil {
		t.Fatalf("send a batch: %v", err)
	}

	// Each stream is read until it ends, as its client would, while the
	// node stops.
	ends := map[string]chan error{}
	readUntilEnd := func(what string, recv func() error) {
		end := make(chan error, 1)
		ends[what] = end
		go func() {
			var err error
			for err == nil {
				err = recv() // events sent before the stop may come first
			}
			end <- err
		}()
	}
	readUntilEnd("room watch", func() error { _, err := watch.Recv(); return err })
	readUntilEnd("cluster watch", func() error { _, err := statuses.Recv(); return err })
	type received struct {
		rep *pb.GuessBatchReply
		err error
	}
	first := make(chan received, 1)
	guessEnd := make(chan error, 1)
	go func() {
		rep, err := guesses.Recv()
		first <- received{rep, err}
		for err == nil {
			_, err = guesses.Recv()
		}
		guessEnd <- err
	}()

	stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := c.Stop(stopCtx, leader.ID()); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	if stopCtx.Err() != nil {
		t.Fatal("the graceful stop lasted until its deadline")
	}
	// The batch was taken on and answered, or it was still on its way when
	// the stream ended, and then it was not applied: the client sends it
	// elsewhere.
	if r := <-first; r.err == nil {
		if o := r.rep.GetOutcomes(); len(o) != 1 || o[0].GetReply() == nil {
			t.Fatalf("answer to the batch: %v, want the guess applied", r.rep)
		}
		ends["guess stream"] = guessEnd
		t.Log("the batch was answered before the guess stream ended")
	} else {
		t.Log("the guess stream ended before the batch was taken on")
		if status.Code(r.err) != codes.Unavailable {
			t.Fatalf("guess stream ended with %v, want Unavailable", r.err)
		}
		next := c.Leader()
		c.AppliedEverywhere(next.Store().Stats().AppliedIndex)
		for _, n := range c.Running() {
			if _, guessed := roomOn(t, n, room.GetId()); len(guessed) != 0 {
				t.Fatalf("node %s applied %v, a guess whose batch was never answered", n.ID(), guessed)
			}
		}
	}
	for what, end := range ends {
		if err := <-end; status.Code(err) != codes.Unavailable {
			t.Errorf("%s ended with %v, want Unavailable", what, err)
		}
	}
	if next := c.Leader(); next.ID() == leader.ID() {
		t.Fatalf("%s still leads after its stop", leader.ID())
	}
}
