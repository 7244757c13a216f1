package backend_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/gallows-game/gallows/backend"
	"github.com/gallows-game/gallows/backend/game"
	"github.com/gallows-game/gallows/backend/internal/rpc"
	"github.com/gallows-game/gallows/gameclient"
	"github.com/gallows-game/gallows/internal/localcluster"
	"github.com/gallows-game/gallows/internal/localcluster/localtest"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

const alphabet = "etaoinshrdlcumwfgypbvkjxqz"

func createRoom(t *testing.T, c pb.GameClient) *pb.Room {
	t.Helper()
	ctx := localtest.Context(t, 10*time.Second)
	// A custom word with many distinct letters keeps a round going for many guesses.
	reply, err := c.CreateRoom(ctx, &pb.CreateRoomRequest{Host: "ana", PlayerId: gameclient.BotPlayerID("ana"), Word: "quick brown fox jumps lazy dog", MaxLives: 26, RequestId: newRequestID("ana-create")})
	if err != nil {
		t.Fatalf("create room: %v", err)
	}
	return reply.GetRoom()
}

// roomOn reads the room as node n has applied it.
func roomOn(t *testing.T, n *backend.Node, id string) (version uint64, guessed []string) {
	t.Helper()
	r, ok := n.Room(id)
	if !ok {
		return 0, nil
	}
	return r.Version, r.Guessed
}

func TestWriteToFollowerIsApplied(t *testing.T) {
	c := localtest.Start(t, localcluster.Config{Backends: 3})
	f := c.Followers()[0]
	room := createRoom(t, c.Client(f.ID()))
	ctx := localtest.Context(t, 10*time.Second)
	reply, err := localtest.Guess(ctx, c.Client(f.ID()), &pb.GuessRequest{RoomId: room.GetId(), Player: "bo", PlayerId: gameclient.BotPlayerID("bo"), Letter: "O", RequestId: "bo-1"})
	if err != nil {
		t.Fatalf("guess via follower %s: %v", f.ID(), err)
	}
	if !reply.GetHit() || reply.GetRoom().GetVersion() != room.GetVersion()+1 {
		t.Fatalf("guess reply = %v, want a hit at version %d", reply, room.GetVersion()+1)
	}
	// The leader applied the guess before it answered.
	c.AppliedEverywhere(c.Leader().Stats().AppliedIndex)
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
	c     *localtest.Cluster
	room  string
	next  int
	acked map[string]uint64 // letter -> version acknowledged
}

func newGuesser(t *testing.T, c *localtest.Cluster, room string) *guesser {
	return &guesser{t: t, c: c, room: room, acked: map[string]uint64{}}
}

// guess sends the next letter to node id and reports the acknowledged version.
func (g *guesser) guess(id string) (uint64, error) {
	g.t.Helper()
	letter := string(alphabet[g.next])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reply, err := localtest.Guess(ctx, g.c.Client(id), &pb.GuessRequest{RoomId: g.room, Player: "bo", PlayerId: gameclient.BotPlayerID("bo"), Letter: letter, RequestId: "bo-" + letter})
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
	localtest.Poll(g.t, 10*time.Second, "every node at the last acknowledged version", func() bool {
		for _, n := range running {
			if v, _ := roomOn(g.t, n, g.room); v < lastVersion {
				return false
			}
		}
		return true
	})
	want, _ := running[0].Room(g.room)
	for _, n := range running {
		r, _ := n.Room(g.room)
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
	c := localtest.Start(t, localcluster.Config{Backends: 3})
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
	nl := c.Leader(old)
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
	c := localtest.Start(t, localcluster.Config{Backends: 3})
	room := createRoom(t, c.Client(c.Leader().ID()))
	req := &pb.GuessRequest{RoomId: room.GetId(), Player: "cy", PlayerId: gameclient.BotPlayerID("cy"), Letter: "q", RequestId: "tab7-1"}
	var replies []*pb.GuessReply
	// The same request three times, through three different nodes.
	for _, id := range c.IDs() {
		ctx := localtest.Context(t, 10*time.Second)
		r, err := localtest.Guess(ctx, c.Client(id), req)
		if err != nil {
			t.Fatalf("guess via %s: %v", id, err)
		}
		replies = append(replies, r)
	}
	first := replies[0]
	if !first.GetHit() || first.GetRoom().GetVersion() != room.GetVersion()+1 {
		t.Errorf("first reply: hit=%v version=%d; want a hit at version %d", first.GetHit(), first.GetRoom().GetVersion(), room.GetVersion()+1)
	}
	// Each resend is answered with the first reply, unchanged.
	for i, r := range replies[1:] {
		if r.GetHit() != first.GetHit() || !proto.Equal(r.GetRoom(), first.GetRoom()) {
			t.Errorf("reply %d: %v; want the first reply %v", i+1, r, first)
		}
	}
	c.AppliedEverywhere(c.Leader().Stats().AppliedIndex)
	for _, n := range c.Running() {
		r, _ := n.Room(room.GetId())
		if len(r.Log) != 1 || r.Version != room.GetVersion()+1 {
			t.Errorf("node %s: log %v version %d; want one guess at version %d", n.ID(), r.Log, r.Version, room.GetVersion()+1)
		}
	}
}

func TestRetriedCreateMakesOneRoom(t *testing.T) {
	c := localtest.Start(t, localcluster.Config{Backends: 3})
	req := &pb.CreateRoomRequest{Host: "dee", PlayerId: gameclient.BotPlayerID("dee"), Category: "animals", RequestId: "tab3-create-1"}
	var rooms []string
	var first *pb.Room
	// The same request three times, through three different nodes: each
	// proposal picks its own code and word, and only the first is applied;
	// the resends are answered with the room as it was created.
	for i, id := range c.IDs() {
		ctx := localtest.Context(t, 10*time.Second)
		r, err := c.Client(id).CreateRoom(ctx, req)
		if err != nil {
			t.Fatalf("create via %s: %v", id, err)
		}
		rooms = append(rooms, r.GetRoom().GetId())
		if i == 0 {
			first = r.GetRoom()
			// A guess between the sends: the resends' answers do not show it.
			if _, err := localtest.Guess(ctx, c.Client(id), &pb.GuessRequest{RoomId: first.GetId(), Player: "dee", PlayerId: gameclient.BotPlayerID("dee"), Letter: "e", RequestId: "dee-1"}); err != nil {
				t.Fatalf("guess: %v", err)
			}
		} else if r.GetRoom().GetVersion() != 1 || !proto.Equal(r.GetRoom(), first) {
			t.Errorf("create %d via %s answered %v; want the first answer %v", i+1, id, r.GetRoom(), first)
		}
	}
	if rooms[1] != rooms[0] || rooms[2] != rooms[0] {
		t.Fatalf("three creates with one request id made rooms %v", rooms)
	}
	// Another request id, or another host, is another room.
	for _, other := range []*pb.CreateRoomRequest{
		{Host: "dee", PlayerId: gameclient.BotPlayerID("dee"), Category: "animals", RequestId: "tab3-create-2"},
		{Host: "eve", PlayerId: gameclient.BotPlayerID("eve"), Category: "animals", RequestId: "tab3-create-1"},
	} {
		r, err := c.Client(c.Leader().ID()).CreateRoom(localtest.Context(t, 10*time.Second), other)
		if err != nil {
			t.Fatalf("create %v: %v", other, err)
		}
		if r.GetRoom().GetId() == rooms[0] {
			t.Errorf("create %v returned the first room", other)
		}
	}
	c.AppliedEverywhere(c.Leader().Stats().AppliedIndex)
	for _, n := range c.Running() {
		if got := len(n.Rooms()); got != 3 {
			t.Errorf("node %s holds %d rooms, want 3", n.ID(), got)
		}
	}
}

// A create sent without a request id is refused, and makes no room:
// backends mint no ids (clients do), since a write may be sent twice on its
// way to the leader and only its id makes the second the first's answer.
func TestCreateWithoutRequestIDIsRefused(t *testing.T) {
	c := localtest.Start(t, localcluster.Config{Backends: 3})
	follower := c.Followers()[0]
	_, err := c.Client(follower.ID()).CreateRoom(localtest.Context(t, 10*time.Second), &pb.CreateRoomRequest{Host: "dee", PlayerId: gameclient.BotPlayerID("dee"), Category: "animals"})
	if status.Code(err) != codes.InvalidArgument || rpc.Reason(err) != pb.ErrorReason_ERROR_REASON_BAD_REQUEST {
		t.Fatalf("create without a request id: %v, want InvalidArgument BAD_REQUEST", err)
	}
	c.AppliedEverywhere(c.Leader().Stats().AppliedIndex)
	for _, n := range c.Running() {
		if got := len(n.Rooms()); got != 0 {
			t.Errorf("node %s holds %d rooms, want none", n.ID(), got)
		}
	}
}

// A guess that comes without a request id is refused, alone or beside
// guesses that have one (which are applied), and changes nothing: a
// second sending on its way to the leader could not be told from a new
// guess.
func TestGuessWithoutRequestIDIsRefused(t *testing.T) {
	c := localtest.Start(t, localcluster.Config{Backends: 3})
	follower := c.Followers()[0]
	cl := c.Client(follower.ID())
	room := createRoom(t, cl)
	ctx := localtest.Context(t, 20*time.Second)
	tests := []struct {
		name string
		// with is a guess with a request id sent in the same batch, or nil.
		with *pb.GuessRequest
	}{
		{"alone", nil},
		{"beside a guess with an id", &pb.GuessRequest{RoomId: room.GetId(), Player: "ok", PlayerId: gameclient.BotPlayerID("ok"), Letter: "q", RequestId: "ok-1"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			player := fmt.Sprintf("p%d", i)
			req := &pb.GuessBatchRequest{Guesses: []*pb.GuessRequest{{RoomId: room.GetId(), Player: player, PlayerId: gameclient.BotPlayerID(player), Letter: string(alphabet[i])}}}
			if tc.with != nil {
				req.Guesses = append(req.Guesses, tc.with)
			}
			rep, err := localtest.GuessBatch(ctx, cl, req)
			if err != nil {
				t.Fatalf("guess stream: %v", err)
			}
			if len(rep.GetOutcomes()) != len(req.GetGuesses()) {
				t.Fatalf("%d outcomes for %d guesses", len(rep.GetOutcomes()), len(req.GetGuesses()))
			}
			_, err = localtest.OutcomeReply(rep.GetOutcomes()[0])
			if status.Code(err) != codes.InvalidArgument || rpc.Reason(err) != pb.ErrorReason_ERROR_REASON_BAD_REQUEST {
				t.Errorf("guess without a request id: %v, want InvalidArgument BAD_REQUEST", err)
			}
			if tc.with != nil {
				if r := rep.GetOutcomes()[1].GetReply(); r == nil || !slices.Contains(r.GetRoom().GetGuessed(), tc.with.GetLetter()) {
					t.Errorf("the guess with an id: %s, want it applied", outcomeString(rep.GetOutcomes()[1]))
				}
			}
			r, ok := c.Leader().Room(room.GetId())
			if !ok {
				t.Fatalf("room %s not on the leader", room.GetId())
			}
			if slices.ContainsFunc(r.Players, func(p game.Player) bool { return p.Name == player }) || slices.Contains(r.Guessed, string(alphabet[i])) {
				t.Fatalf("room on the leader: players %+v, guessed %v; want no trace of %s's guess", r.Players, r.Guessed, player)
			}
		})
	}
}

// A brief guess reply is the room without its players and log, alone or
// in a batch, and a full one has them.
func TestBriefGuessReply(t *testing.T) {
	c := localtest.Start(t, localcluster.Config{Backends: 3})
	client := c.Client(c.Followers()[0].ID()) // forwarded, brief and all
	room := createRoom(t, client)
	ctx := localtest.Context(t, 10*time.Second)
	full, err := localtest.Guess(ctx, client, &pb.GuessRequest{RoomId: room.GetId(), Player: "bo", PlayerId: gameclient.BotPlayerID("bo"), Letter: "q", RequestId: "bo-q"})
	if err != nil {
		t.Fatal(err)
	}
	brief, err := localtest.Guess(ctx, client, &pb.GuessRequest{RoomId: room.GetId(), Player: "bo", PlayerId: gameclient.BotPlayerID("bo"), Letter: "u", RequestId: "bo-u", Brief: true})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := localtest.GuessBatch(ctx, client, &pb.GuessBatchRequest{Guesses: []*pb.GuessRequest{
		{RoomId: room.GetId(), Player: "cy", PlayerId: gameclient.BotPlayerID("cy"), Letter: "i", RequestId: "cy-i", Brief: true},
		{RoomId: room.GetId(), Player: "cy", PlayerId: gameclient.BotPlayerID("cy"), Letter: "c", RequestId: "cy-c"},
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
	c := localtest.Start(t, localcluster.Config{Backends: 3, Backend: func(cfg *backend.Config) {
		cfg.SnapshotThreshold = 16
		cfg.TrailingLogs = 8
		// Small WAL segments, so compaction really drops the old entries.
		cfg.SegmentSize = 4096
	}})
	lagging := c.Followers()[0].ID()
	c.Kill(lagging)
	leader := c.Leader()
	ctx := localtest.Context(t, 30*time.Second)
	var rooms []string
	// Far more entries than threshold + trailing logs, one room each.
	for range 150 {
		r, err := c.Client(leader.ID()).CreateRoom(ctx, &pb.CreateRoomRequest{Host: "di", PlayerId: gameclient.BotPlayerID("di"), Category: "animals", Difficulty: "easy", RequestId: newRequestID("di-create")})
		if err != nil {
			t.Fatalf("create room: %v", err)
		}
		rooms = append(rooms, r.GetRoom().GetId())
	}
	if err := leader.Snapshot(); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	n := c.Restart(lagging)
	// The leader no longer has the entries the node missed: only a snapshot can bring it up to date.
	localtest.Poll(t, 20*time.Second, "the lagging node to install a snapshot and hold every room", func() bool {
		return n.LastSnapshotIndex() != 0 && len(n.Rooms()) == len(rooms)
	})
	for _, id := range rooms {
		if _, ok := n.Room(id); !ok {
			t.Errorf("room %s missing on the restarted node", id)
		}
	}
	// The snapshot counts as applied, though no command came after it.
	snap := n.LastSnapshotIndex()
	if applied := n.Stats().AppliedIndex; applied < snap {
		t.Errorf("applied index %d after installing the snapshot of index %d", applied, snap)
	}
}

func TestWatchOnFollowerIsGaplessAcrossLeaderChange(t *testing.T) {
	c := localtest.Start(t, localcluster.Config{Backends: 3})
	room := createRoom(t, c.Client(c.Leader().ID()))
	old := c.Leader().ID()
	watcher := c.Followers()[0].ID()
	ctx := localtest.Context(t, 60*time.Second)
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

	// The stream starts with the state current when the watch began:
	// wait for it, so that every guess below comes after it.
	want := room.GetVersion()
	select {
	case ev := <-events:
		if ev.GetRoom().GetVersion() != want {
			t.Fatalf("watch began at version %d, want %d", ev.GetRoom().GetVersion(), want)
		}
		want++
	case err := <-errc:
		t.Fatalf("watch ended before its first state: %v", err)
	case <-ctx.Done():
		t.Fatal("no first state on the watch")
	}

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
	c := localtest.Start(t, localcluster.Config{Backends: 3})
	f := c.Followers()[0].ID()
	room := createRoom(t, c.Client(f))
	cl := c.Client(f)
	ctx := localtest.Context(t, 10*time.Second)
	if _, err := localtest.Guess(ctx, cl, &pb.GuessRequest{RoomId: room.GetId(), Player: "ed", PlayerId: gameclient.BotPlayerID("ed"), Letter: "q", RequestId: "ed-1"}); err != nil {
		t.Fatalf("guess: %v", err)
	}
	tests := []struct {
		name string
		call func() error
		code codes.Code
	}{
		{"invalid letter", func() error {
			_, err := localtest.Guess(ctx, cl, &pb.GuessRequest{RoomId: room.GetId(), Player: "ed", PlayerId: gameclient.BotPlayerID("ed"), Letter: "7", RequestId: "ed-2"})
			return err
		}, codes.InvalidArgument},
		{"two letters", func() error {
			_, err := localtest.Guess(ctx, cl, &pb.GuessRequest{RoomId: room.GetId(), Player: "ed", PlayerId: gameclient.BotPlayerID("ed"), Letter: "ab", RequestId: "ed-3"})
			return err
		}, codes.InvalidArgument},
		{"already guessed", func() error {
			_, err := localtest.Guess(ctx, cl, &pb.GuessRequest{RoomId: room.GetId(), Player: "ed", PlayerId: gameclient.BotPlayerID("ed"), Letter: "Q", RequestId: "ed-4"})
			return err
		}, codes.FailedPrecondition},
		{"unknown room", func() error {
			_, err := localtest.Guess(ctx, cl, &pb.GuessRequest{RoomId: "ZZZZZ", Player: "ed", PlayerId: gameclient.BotPlayerID("ed"), Letter: "a", RequestId: "ed-5"})
			return err
		}, codes.NotFound},
		{"unknown category", func() error {
			_, err := cl.CreateRoom(ctx, &pb.CreateRoomRequest{Host: "ed", PlayerId: gameclient.BotPlayerID("ed"), Category: "nope", RequestId: "ed-create-1"})
			return err
		}, codes.InvalidArgument},
		{"next round by another than the host", func() error {
			_, err := cl.NextRound(ctx, &pb.NextRoundRequest{RoomId: room.GetId(), Player: "ed", PlayerId: gameclient.BotPlayerID("ed")})
			return err
		}, codes.PermissionDenied},
		{"guess under the host's name", func() error {
			_, err := localtest.Guess(ctx, cl, &pb.GuessRequest{RoomId: room.GetId(), Player: "ana", PlayerId: gameclient.BotPlayerID("mallory"), Letter: "u", RequestId: "m-1"})
			return err
		}, codes.AlreadyExists},
		{"join under the host's name", func() error {
			_, err := cl.Join(ctx, &pb.JoinRequest{RoomId: room.GetId(), Player: "ana", PlayerId: gameclient.BotPlayerID("mallory")})
			return err
		}, codes.AlreadyExists},
		{"guess without a player id", func() error {
			_, err := localtest.Guess(ctx, cl, &pb.GuessRequest{RoomId: room.GetId(), Player: "ed", Letter: "u", RequestId: "ed-6"})
			return err
		}, codes.InvalidArgument},
		{"create without a player id", func() error {
			_, err := cl.CreateRoom(ctx, &pb.CreateRoomRequest{Host: "ed", Category: "animals", RequestId: "ed-create-2"})
			return err
		}, codes.InvalidArgument},
		{"next round without a player id", func() error {
			_, err := cl.NextRound(ctx, &pb.NextRoundRequest{RoomId: room.GetId(), Player: "ana", Round: 1})
			return err
		}, codes.InvalidArgument},
		{"join without a player id", func() error {
			_, err := cl.Join(ctx, &pb.JoinRequest{RoomId: room.GetId(), Player: "ed"})
			return err
		}, codes.InvalidArgument},
		{"leave without a player id", func() error {
			_, err := cl.Leave(ctx, &pb.LeaveRequest{RoomId: room.GetId()})
			return err
		}, codes.InvalidArgument},
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
	// Reads are linearizable on any node: the follower's answer reflects
	// every write acknowledged before it, with no wait for it to apply them.
	after, err := cl.GetRoom(ctx, &pb.GetRoomRequest{RoomId: room.GetId()})
	if err != nil {
		t.Fatalf("get room: %v", err)
	}
	if after.GetRoom().GetVersion() != room.GetVersion()+1 {
		t.Errorf("refused requests changed the room: version %d, want %d", after.GetRoom().GetVersion(), room.GetVersion()+1)
	}
}

func TestNoQuorumIsUnavailable(t *testing.T) {
	c := localtest.Start(t, localcluster.Config{Backends: 3})
	room := createRoom(t, c.Client(c.Leader().ID()))
	survivor := c.Followers()[0].ID()
	for _, id := range c.IDs() {
		if id != survivor {
			c.Kill(id)
		}
	}
	ctx := localtest.Context(t, 20*time.Second)
	_, err := localtest.Guess(ctx, c.Client(survivor), &pb.GuessRequest{RoomId: room.GetId(), Player: "fy", PlayerId: gameclient.BotPlayerID("fy"), Letter: "a", RequestId: "fy-1"})
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
	return fmt.Sprintf("reply hit=%v room %s v%d guessed %v",
		r.GetHit(), r.GetRoom().GetId(), r.GetRoom().GetVersion(), r.GetRoom().GetGuessed())
}

// TestGuessBatch: each guess of a batch on a GuessStream (sent to a
// follower, which relays it) is applied or refused on its own and
// answered at its position; the batch sent again is answered with the
// first replies, unchanged, and changes nothing.
func TestGuessBatch(t *testing.T) {
	c := localtest.Start(t, localcluster.Config{Backends: 3})
	f := c.Followers()[0].ID()
	cl := c.Client(f)
	ctx := localtest.Context(t, 30*time.Second)
	a, b := createRoom(t, cl), createRoom(t, cl)
	firstQ, err := localtest.Guess(ctx, cl, &pb.GuessRequest{RoomId: a.GetId(), Player: "bo", PlayerId: gameclient.BotPlayerID("bo"), Letter: "q", RequestId: "bo-1"})
	if err != nil {
		t.Fatalf("guess: %v", err)
	}
	// A room whose round is lost, and a room with no seat left.
	over, err := cl.CreateRoom(ctx, &pb.CreateRoomRequest{Host: "ana", PlayerId: gameclient.BotPlayerID("ana"), Word: "ox", MaxLives: 1, RequestId: "ana-create-ox"})
	if err != nil {
		t.Fatalf("create room: %v", err)
	}
	if r, err := localtest.Guess(ctx, cl, &pb.GuessRequest{RoomId: over.GetRoom().GetId(), Player: "bo", PlayerId: gameclient.BotPlayerID("bo"), Letter: "e", RequestId: "bo-e"}); err != nil || r.GetRoom().GetStatus() != pb.RoundStatus_ROUND_STATUS_LOST {
		t.Fatalf("losing guess: %v, %v", r, err)
	}
	full := createRoom(t, cl)
	var wg sync.WaitGroup
	joinErrs := make(chan error, game.MaxPlayersPerRoom)
	for i := range game.MaxPlayersPerRoom - 1 { // the host is the first player
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := cl.Join(ctx, &pb.JoinRequest{RoomId: full.GetId(), Player: fmt.Sprintf("p%d", i), PlayerId: gameclient.BotPlayerID(fmt.Sprintf("p%d", i))}); err != nil {
				joinErrs <- err
			}
		}()
	}
	wg.Wait()
	close(joinErrs)
	for err := range joinErrs {
		t.Fatalf("join: %v", err)
	}
	c.AppliedEverywhere(c.Leader().Stats().AppliedIndex)
	va, _ := roomOn(t, c.Leader(), a.GetId())
	vb, _ := roomOn(t, c.Leader(), b.GetId())

	// The word is "quick brown fox jumps lazy dog": "e" is a miss. Every
	// applied guess is its player's only one in the room, so that a resend
	// of the whole batch repeats each player's last request.
	tests := []struct {
		name  string
		guess *pb.GuessRequest
		// An applied guess: the letter the reply's room holds, and hit.
		// resend: the guess was applied before the batch (firstQ).
		letter      string
		hit, resend bool
		// A refused guess: its code and reason.
		code   codes.Code
		reason pb.ErrorReason
	}{
		{name: "hit in room a", guess: &pb.GuessRequest{RoomId: a.GetId(), Player: "cy", PlayerId: gameclient.BotPlayerID("cy"), Letter: "U", RequestId: "cy-1"},
			letter: "u", hit: true},
		{name: "miss in room b", guess: &pb.GuessRequest{RoomId: strings.ToLower(b.GetId()), Player: "cy", PlayerId: gameclient.BotPlayerID("cy"), Letter: "e", RequestId: "cy-2"},
			letter: "e"},
		{name: "hit in room b", guess: &pb.GuessRequest{RoomId: b.GetId(), Player: "di", PlayerId: gameclient.BotPlayerID("di"), Letter: "o", RequestId: "di-1"},
			letter: "o", hit: true},
		{name: "invalid letter", guess: &pb.GuessRequest{RoomId: a.GetId(), Player: "ed", PlayerId: gameclient.BotPlayerID("ed"), Letter: "7", RequestId: "ed-1"},
			code: codes.InvalidArgument, reason: pb.ErrorReason_ERROR_REASON_INVALID_LETTER},
		{name: "two letters", guess: &pb.GuessRequest{RoomId: a.GetId(), Player: "ed", PlayerId: gameclient.BotPlayerID("ed"), Letter: "ab", RequestId: "ed-2"},
			code: codes.InvalidArgument, reason: pb.ErrorReason_ERROR_REASON_INVALID_LETTER},
		{name: "guessed before the batch", guess: &pb.GuessRequest{RoomId: a.GetId(), Player: "ed", PlayerId: gameclient.BotPlayerID("ed"), Letter: "Q", RequestId: "ed-3"},
			code: codes.FailedPrecondition, reason: pb.ErrorReason_ERROR_REASON_ALREADY_GUESSED},
		{name: "guessed earlier in the batch", guess: &pb.GuessRequest{RoomId: b.GetId(), Player: "fy", PlayerId: gameclient.BotPlayerID("fy"), Letter: "O", RequestId: "fy-1"},
			code: codes.FailedPrecondition, reason: pb.ErrorReason_ERROR_REASON_ALREADY_GUESSED},
		{name: "unknown room", guess: &pb.GuessRequest{RoomId: "ZZZZZ", Player: "ed", PlayerId: gameclient.BotPlayerID("ed"), Letter: "a", RequestId: "ed-4"},
			code: codes.NotFound, reason: pb.ErrorReason_ERROR_REASON_NOT_FOUND},
		{name: "round over", guess: &pb.GuessRequest{RoomId: over.GetRoom().GetId(), Player: "gus", PlayerId: gameclient.BotPlayerID("gus"), Letter: "o", RequestId: "gus-1"},
			code: codes.FailedPrecondition, reason: pb.ErrorReason_ERROR_REASON_ROUND_OVER},
		{name: "room full", guess: &pb.GuessRequest{RoomId: full.GetId(), Player: "gus", PlayerId: gameclient.BotPlayerID("gus"), Letter: "o", RequestId: "gus-2"},
			code: codes.FailedPrecondition, reason: pb.ErrorReason_ERROR_REASON_ROOM_FULL},
		{name: "no player name", guess: &pb.GuessRequest{RoomId: a.GetId(), Player: " ", PlayerId: gameclient.BotPlayerID(" "), Letter: "i", RequestId: "x-1"},
			code: codes.InvalidArgument, reason: pb.ErrorReason_ERROR_REASON_INVALID_NAME},
		{name: "the host, who chose the word", guess: &pb.GuessRequest{RoomId: a.GetId(), Player: "ana", PlayerId: gameclient.BotPlayerID("ana"), Letter: "i", RequestId: "ana-i"},
			code: codes.PermissionDenied, reason: pb.ErrorReason_ERROR_REASON_HOST_WATCHES},
		{name: "resend of an applied guess", guess: &pb.GuessRequest{RoomId: a.GetId(), Player: "bo", PlayerId: gameclient.BotPlayerID("bo"), Letter: "q", RequestId: "bo-1"},
			letter: "q", hit: true, resend: true},
		{name: "hit in room a after refusals", guess: &pb.GuessRequest{RoomId: a.GetId(), Player: "hal", PlayerId: gameclient.BotPlayerID("hal"), Letter: "i", RequestId: "hal-1"},
			letter: "i", hit: true},
	}
	req := &pb.GuessBatchRequest{}
	for _, tt := range tests {
		req.Guesses = append(req.Guesses, tt.guess)
	}
	applied := 0 // guesses that change a room
	for _, tt := range tests {
		if tt.letter != "" && !tt.resend {
			applied++
		}
	}
	if applied != 4 {
		t.Fatalf("test table applies %d guesses, the version checks assume 4", applied)
	}

	// first holds the batch's first answer: a resend must get it again.
	var first *pb.GuessBatchReply
	for _, send := range []struct {
		name  string
		again bool
	}{{"first", false}, {"again", true}} {
		t.Run(send.name, func(t *testing.T) {
			reply, err := localtest.GuessBatch(ctx, cl, req)
			if err != nil {
				t.Fatalf("guess batch via follower %s: %v", f, err)
			}
			if len(reply.GetOutcomes()) != len(tests) {
				t.Fatalf("%d outcomes for %d guesses", len(reply.GetOutcomes()), len(tests))
			}
			if !send.again {
				first = reply
			}
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
				if r == nil || r.GetHit() != tt.hit || !slices.Contains(r.GetRoom().GetGuessed(), tt.letter) {
					t.Errorf("guess %d (%s): %s; want hit=%v and %q guessed", i, tt.name, outcomeString(o), tt.hit, tt.letter)
					continue
				}
				// A resent guess gets its first reply, unchanged: the room as
				// that guess left it, though others were applied since.
				var want *pb.GuessReply
				switch {
				case tt.resend:
					want = firstQ
				case send.again && first != nil:
					want = first.GetOutcomes()[i].GetReply()
				}
				if want != nil && (r.GetHit() != want.GetHit() || !proto.Equal(r.GetRoom(), want.GetRoom())) {
					t.Errorf("guess %d (%s): %s; want its first reply: %s", i, tt.name, outcomeString(o),
						outcomeString(&pb.GuessOutcome{Result: &pb.GuessOutcome_Reply{Reply: want}}))
				}
			}
			// The applied guesses changed their rooms once, the refused ones
			// and the resends not at all.
			c.AppliedEverywhere(c.Leader().Stats().AppliedIndex)
			if v, _ := roomOn(t, c.Leader(), a.GetId()); v != va+2 {
				t.Errorf("room a at version %d, want %d", v, va+2)
			}
			if v, _ := roomOn(t, c.Leader(), b.GetId()); v != vb+2 {
				t.Errorf("room b at version %d, want %d", v, vb+2)
			}
		})
	}

	// Each refused guess gets, alone in a batch, what it got in the batch.
	for i, tt := range tests {
		if tt.letter != "" || first == nil {
			continue
		}
		_, err := localtest.Guess(ctx, cl, tt.guess)
		st, _ := status.FromError(err)
		e := first.GetOutcomes()[i].GetError()
		if st.Code() != codes.Code(e.GetCode()) || rpc.Reason(err) != e.GetReason() || st.Message() != e.GetMessage() {
			t.Errorf("guess %d (%s): alone it fails with %v %v %q, in the batch with %s",
				i, tt.name, st.Code(), rpc.Reason(err), st.Message(), outcomeString(first.GetOutcomes()[i]))
		}
	}

	// A batch holds 1 to pb.MaxGuessBatch guesses: one out of bounds is
	// answered with the same refusal for every guess (none, for an empty
	// batch), and the stream goes on.
	many := func(n int) *pb.GuessBatchRequest {
		r := &pb.GuessBatchRequest{}
		for i := range n {
			r.Guesses = append(r.Guesses, &pb.GuessRequest{RoomId: "ZZZZZ", Player: "ed", PlayerId: gameclient.BotPlayerID("ed"), Letter: "a", RequestId: fmt.Sprint(i)})
		}
		return r
	}
	for _, n := range []int{0, pb.MaxGuessBatch + 1} {
		reply, err := localtest.GuessBatch(ctx, cl, many(n))
		if err != nil || len(reply.GetOutcomes()) != n {
			t.Errorf("batch of %d guesses: %d outcomes, %v; want %d", n, len(reply.GetOutcomes()), err, n)
			continue
		}
		for i, o := range reply.GetOutcomes() {
			if _, err := localtest.OutcomeReply(o); status.Code(err) != codes.InvalidArgument || rpc.Reason(err) != pb.ErrorReason_ERROR_REASON_BAD_REQUEST {
				t.Errorf("batch of %d guesses, guess %d: %s, want InvalidArgument BAD_REQUEST", n, i, outcomeString(o))
				break
			}
		}
	}
	if reply, err := localtest.GuessBatch(ctx, cl, many(pb.MaxGuessBatch)); err != nil || len(reply.GetOutcomes()) != pb.MaxGuessBatch {
		t.Errorf("batch of %d guesses: %d outcomes, %v; want all answered", pb.MaxGuessBatch, len(reply.GetOutcomes()), err)
	} else if e := reply.GetOutcomes()[pb.MaxGuessBatch-1].GetError(); codes.Code(e.GetCode()) != codes.NotFound {
		t.Errorf("last guess of the batch: %s, want NotFound", outcomeString(reply.GetOutcomes()[pb.MaxGuessBatch-1]))
	}

	// Every node agrees on the rooms.
	c.AppliedEverywhere(c.Leader().Stats().AppliedIndex)
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
	c := localtest.Start(t, localcluster.Config{Backends: 3})
	ctx := localtest.Context(t, 60*time.Second)
	follower := c.Client(c.Followers()[0].ID())
	room := createRoom(t, follower)
	name := func(i int) string { return fmt.Sprintf("%02d", i) + strings.Repeat("名", game.MaxNameLen-2) }
	for i := range game.MaxPlayersPerRoom - 1 {
		if _, err := follower.Join(ctx, &pb.JoinRequest{RoomId: room.GetId(), Player: name(i), PlayerId: gameclient.BotPlayerID(name(i))}); err != nil {
			t.Fatalf("join %d: %v", i, err)
		}
	}
	g := &pb.GuessRequest{RoomId: room.GetId(), Player: name(0), PlayerId: gameclient.BotPlayerID(name(0)), Letter: "q", RequestId: "r1"}
	first, err := localtest.Guess(ctx, follower, g)
	if err != nil {
		t.Fatalf("guess: %v", err)
	}
	req := &pb.GuessBatchRequest{}
	for range pb.MaxGuessBatch {
		req.Guesses = append(req.Guesses, g) // resends: each answered with the first reply, the whole room
	}
	for _, cl := range []pb.GameClient{follower, c.Client(c.Leader().ID())} {
		reply, err := localtest.GuessBatch(ctx, cl, req)
		if err != nil {
			t.Fatalf("batch of %d: %v", pb.MaxGuessBatch, err)
		}
		if len(reply.GetOutcomes()) != pb.MaxGuessBatch {
			t.Fatalf("%d outcomes for %d guesses", len(reply.GetOutcomes()), pb.MaxGuessBatch)
		}
		for i, o := range reply.GetOutcomes() {
			r := o.GetReply()
			if !proto.Equal(r.GetRoom(), first.GetRoom()) || len(r.GetRoom().GetPlayers()) != game.MaxPlayersPerRoom {
				t.Fatalf("outcome %d: %s, want the first reply, with a full room", i, outcomeString(o))
			}
		}
	}
}

// TestGuessStream: batches sent on one stream without waiting are each
// answered, tagged with their ids; a batch the backend cannot take gets
// its error for every guess, and the stream goes on; a guess sent again
// gets its first reply. On a follower the batches are forwarded; the leader proposes them
// from the stream's reader and answers them from the store.
func TestGuessStream(t *testing.T) {
	c := localtest.Start(t, localcluster.Config{Backends: 3})
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

func testGuessStream(t *testing.T, c *localtest.Cluster, cl pb.GameClient) {
	ctx := localtest.Context(t, 20*time.Second)
	a, b := createRoom(t, cl), createRoom(t, cl)
	stream, err := cl.GuessStream(ctx)
	if err != nil {
		t.Fatalf("open stream: %v", err)
	}
	g := func(room *pb.Room, letter, id string) *pb.GuessRequest {
		return &pb.GuessRequest{RoomId: room.GetId(), Player: "ed", PlayerId: gameclient.BotPlayerID("ed"), Letter: letter, RequestId: id}
	}
	tooMany := &pb.GuessBatchRequest{Id: 3}
	for i := range pb.MaxGuessBatch + 1 {
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

	if r := got[1].GetOutcomes()[0].GetReply(); !slices.Equal(r.GetRoom().GetGuessed(), []string{"e"}) || r.GetRoom().GetVersion() != a.GetVersion()+1 {
		t.Errorf("batch 1, guess 0: %s, want applied", outcomeString(got[1].GetOutcomes()[0]))
	}
	if e := got[1].GetOutcomes()[1].GetError(); codes.Code(e.GetCode()) != codes.InvalidArgument || e.GetReason() != pb.ErrorReason_ERROR_REASON_INVALID_LETTER {
		t.Errorf("batch 1, guess 1: %s, want InvalidArgument INVALID_LETTER", outcomeString(got[1].GetOutcomes()[1]))
	}
	if r := got[2].GetOutcomes()[0].GetReply(); !slices.Equal(r.GetRoom().GetGuessed(), []string{"e"}) || r.GetRoom().GetVersion() != b.GetVersion()+1 {
		t.Errorf("batch 2: %s, want applied", outcomeString(got[2].GetOutcomes()[0]))
	}
	if n := len(got[3].GetOutcomes()); n != pb.MaxGuessBatch+1 {
		t.Fatalf("batch 3: %d outcomes, want %d", n, pb.MaxGuessBatch+1)
	}
	for i, o := range got[3].GetOutcomes() {
		if codes.Code(o.GetError().GetCode()) != codes.InvalidArgument {
			t.Fatalf("batch 3, guess %d: %s, want InvalidArgument", i, outcomeString(o))
		}
	}
	if r, want := got[4].GetOutcomes()[0].GetReply(), got[1].GetOutcomes()[0].GetReply(); r.GetHit() != want.GetHit() || !proto.Equal(r.GetRoom(), want.GetRoom()) {
		t.Errorf("batch 4: %s, want batch 1's reply to the guess: %s", outcomeString(got[4].GetOutcomes()[0]), outcomeString(got[1].GetOutcomes()[0]))
	}
	c.AppliedEverywhere(c.Leader().Stats().AppliedIndex)
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
	c := localtest.Start(t, localcluster.Config{Backends: 3})
	leader := c.Leader()
	cl := c.Client(leader.ID())
	room := createRoom(t, cl)
	ctx := localtest.Context(t, 60*time.Second)
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
	req := &pb.GuessBatchRequest{Id: 1, Guesses: []*pb.GuessRequest{{RoomId: room.GetId(), Player: "bo", PlayerId: gameclient.BotPlayerID("bo"), Letter: "q", RequestId: "bo-1"}}}
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
		c.AppliedEverywhere(next.Stats().AppliedIndex)
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
