package backend_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gallows-game/gallows/gameclient"
	"github.com/gallows-game/gallows/internal/faultnet"
	"github.com/gallows-game/gallows/internal/localcluster"
	"github.com/gallows-game/gallows/internal/localcluster/localtest"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// player plays one room through a gameclient, one guess at a time, and
// counts the guesses acknowledged there.
type player struct {
	gc      *gameclient.Client
	room    string
	player  string
	n       int // acknowledged guesses
	seq     int
	guessed map[string]bool
	round   int64
	playing bool
}

func (g *player) track(r *pb.Room) {
	g.guessed = map[string]bool{}
	for _, l := range r.GetGuessed() {
		g.guessed[l] = true
	}
	g.round, g.playing = r.GetRound(), r.GetStatus() == pb.RoundStatus_ROUND_STATUS_PLAYING
}

// step makes one guess, or starts the next round when this one is over; it
// reports whether a guess was acknowledged.
func (g *player) step(ctx context.Context) (bool, error) {
	letter := ""
	for _, l := range alphabet {
		if !g.guessed[string(l)] {
			letter = string(l)
			break
		}
	}
	if !g.playing || letter == "" {
		room, err := g.gc.NextRound(ctx, &pb.NextRoundRequest{RoomId: g.room, Player: g.player, PlayerId: gameclient.BotPlayerID(g.player), Round: g.round})
		if err != nil {
			return false, fmt.Errorf("next round in %s: %w", g.room, err)
		}
		g.track(room)
		return false, nil
	}
	g.seq++
	// The guess names its round: a twin of it (a hedge, or a forward the
	// old leader left behind) that reaches the leader only after the next
	// round began is refused as round_over, not applied to that round.
	reply, err := g.gc.Guess(ctx, &pb.GuessRequest{RoomId: g.room, Player: g.player, PlayerId: gameclient.BotPlayerID(g.player), Letter: letter, RequestId: fmt.Sprintf("%s-%d", g.player, g.seq), Round: g.round})
	if err != nil {
		return false, fmt.Errorf("guess %q in %s: %w", letter, g.room, err)
	}
	g.track(reply.GetRoom())
	g.n++
	return true, nil
}

// answeredBy records when and by which backend guesses were answered.
type answeredBy struct {
	mu  sync.Mutex
	ops []gameclient.Op
}

func (a *answeredBy) Record(op gameclient.Op) {
	if op.Method != pb.Game_GuessStream_FullMethodName || op.Err != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ops = append(a.ops, op)
}

// since counts the guesses sent after t and answered by a backend other
// than addr.
func (a *answeredBy) since(t time.Time, addr string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, op := range a.ops {
		if op.Start.After(t) && op.Node != addr {
			n++
		}
	}
	return n
}

// frontendClient is a game client of c's backends dialing from host of
// c's network, as a frontend there would, with cfg's other settings; it is
// closed when the test ends.
func frontendClient(t *testing.T, c *localtest.Cluster, host string, cfg gameclient.Config) *gameclient.Client {
	t.Helper()
	base := c.GameClientConfig(host)
	cfg.Backends, cfg.Dial, cfg.Logger, cfg.TLS = base.Backends, base.Dial, base.Logger, base.TLS
	gc, err := gameclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := gc.Close(); err != nil {
			t.Errorf("close the game client: %v", err)
		}
	})
	return gc
}

// TestGuessesSurviveLinkFaults plays through one gameclient, four players
// at a time, while the links around the leader fail in different ways, then
// heal. Every guess must be acknowledged in the end (none may fail), every
// node must hold each acknowledged guess exactly once, and where the
// leader is cut off from the others, another node must take over.
func TestGuessesSurviveLinkFaults(t *testing.T) {
	const client = "frontend"
	tests := []struct {
		name string
		// fault breaks links; others are the nodes that are not the leader.
		fault func(n *faultnet.Network, leader string, others []string)
		// newLeader: another node must take over. elsewhere: the client
		// must get guesses answered by other nodes than the old leader.
		newLeader, elsewhere bool
	}{
		{"leader cut off", func(n *faultnet.Network, leader string, _ []string) { n.Isolate(leader) }, true, true},
		{"leader heard by nobody", func(n *faultnet.Network, leader string, others []string) {
			// The leader still receives everything; what it sends is lost.
			for _, o := range append(others, client) {
				n.CutOneWay(leader, o)
			}
		}, true, true},
		{"client cut from the leader", func(n *faultnet.Network, leader string, _ []string) {
			// The followers forward to the leader.
			n.Cut(client, leader)
		}, false, true},
		{"leader cut from one follower", func(n *faultnet.Network, leader string, others []string) {
			n.Cut(leader, others[0])
		}, false, false},
		{"slow links around the leader", func(n *faultnet.Network, leader string, others []string) {
			for _, o := range append(others, client) {
				n.Delay(leader, o, 20*time.Millisecond)
			}
		}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			playThroughFault(t, tt.fault, tt.newLeader, tt.elsewhere)
		})
	}
}

// playThroughFault runs one case of TestGuessesSurviveLinkFaults.
func playThroughFault(t *testing.T, fault func(n *faultnet.Network, leader string, others []string), newLeader, elsewhere bool) {
	network := faultnet.New()
	c := localtest.Start(t, localcluster.Config{Backends: 3, Network: network})
	answered := &answeredBy{}
	// Attempts time out only after attemptTimeout: a guess the faulty
	// leader holds is answered sooner only because the client hedges it on
	// another node and that node forwards it to the next leader.
	const attemptTimeout = 10 * time.Second
	gc := frontendClient(t, c, "frontend", gameclient.Config{
		Recorder: answered,
		Timeout:  3 * attemptTimeout, AttemptTimeout: attemptTimeout,
	})

	ctx := localtest.Context(t, 90*time.Second)
	var (
		mu    sync.Mutex
		acks  []time.Time // when each guess was acknowledged
		wg    sync.WaitGroup
		stop  = make(chan struct{})
		errs  = make(chan error, 4)
		games []*player
	)
	for i := range 4 {
		g := &player{gc: gc, player: fmt.Sprintf("p%d", i)}
		// A word from a category: the player hosts the room and guesses
		// in it (the host of a custom-word room watches).
		room, err := gc.CreateRoom(ctx, &pb.CreateRoomRequest{Host: g.player, PlayerId: gameclient.BotPlayerID(g.player), Category: "animals", MaxLives: 26})
		if err != nil {
			t.Fatalf("create room: %v", err)
		}
		g.room = room.GetId()
		g.track(room)
		games = append(games, g)
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				// A guess has all the time it needs: none may fail.
				gctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				ok, err := g.step(gctx)
				cancel()
				if err != nil {
					errs <- err
					return
				}
				if ok {
					mu.Lock()
					acks = append(acks, time.Now())
					mu.Unlock()
				}
			}
		})
	}
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()
	ackCount := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acks)
	}
	// acked also ends the test at the first failed guess.
	acked := func() int {
		select {
		case err := <-errs:
			t.Fatal(err)
		default:
		}
		return ackCount()
	}

	localtest.Poll(t, 30*time.Second, "guesses before the fault", func() bool { return acked() >= 20 })
	old := c.Leader()
	var others []string
	for _, n := range c.Running() {
		if n != old {
			others = append(others, n.ID())
		}
	}
	faultTime := time.Now()
	fault(network, old.ID(), others)
	faultAt := acked()
	if newLeader {
		c.Leader(old.ID()) // a new leader while the old one is cut off
	}
	localtest.Poll(t, 30*time.Second, "guesses acknowledged during the fault", func() bool {
		return acked() >= faultAt+40
	})
	if elsewhere && answered.since(faultTime, old.GRPCAddr()) == 0 {
		t.Errorf("no guess was answered by a node other than the old leader %s during the fault", old.ID())
	}
	network.HealAll()
	healedAt := acked()
	localtest.Poll(t, 30*time.Second, "guesses after the heal", func() bool { return acked() >= healedAt+20 })
	close(stop)
	wg.Wait()
	acked()

	mu.Lock()
	var gap time.Duration
	for i := 1; i < len(acks); i++ {
		if acks[i].After(faultTime) {
			gap = max(gap, acks[i].Sub(acks[i-1]))
		}
	}
	mu.Unlock()
	t.Logf("%d guesses acknowledged; the longest wait for one after the fault was %v", acked(), gap.Round(time.Millisecond))
	if gap >= attemptTimeout/2 {
		t.Errorf("the longest wait for a guess after the fault was %v: guesses waited for their attempt to time out (%v)", gap, attemptTimeout)
	}

	// Every node is back, and holds every acknowledged guess once: a room's
	// version counts its creation, each guess and each next round.
	leader := c.Leader()
	c.AppliedEverywhere(leader.Stats().AppliedIndex)
	for _, n := range c.Running() {
		for _, g := range games {
			r, ok := n.Room(g.room)
			if !ok {
				t.Fatalf("node %s: room %s missing", n.ID(), g.room)
			}
			if got := int(r.Version) - r.Round; got != g.n {
				t.Errorf("node %s, room %s: %d guesses applied, %d acknowledged", n.ID(), g.room, got, g.n)
			}
		}
	}
}

// A follower cut off from everything, gossip included, is seen failed by
// the others but stays a voter (it may come back); once the links heal it
// is alive again and catches up with what was written meanwhile.
func TestIsolatedFollowerIsKeptAndCatchesUp(t *testing.T) {
	network := faultnet.New()
	c := localtest.Start(t, localcluster.Config{Backends: 3, Network: network})
	leader := c.Leader()
	cut := c.Followers()[0]
	// The test's own gRPC connections come from outside the network, so
	// they reach every node throughout.
	serfStatus := func(of string) string {
		st, err := c.ClusterClient(leader.ID()).Status(localtest.Context(t, 5*time.Second), &pb.StatusRequest{})
		if err != nil {
			t.Fatalf("status: %v", err)
		}
		for _, n := range st.GetNodes() {
			if n.GetId() == of {
				return n.GetSerfStatus()
			}
		}
		return ""
	}
	voters := func() int {
		ids, err := leader.Voters()
		if err != nil {
			t.Fatalf("raft configuration: %v", err)
		}
		return len(ids)
	}

	network.Isolate(cut.ID())
	localtest.Poll(t, 20*time.Second, "the cut-off follower seen failed by the leader's gossip", func() bool {
		return serfStatus(cut.ID()) == "failed"
	})
	room := createRoom(t, c.Client(leader.ID()))
	g := newGuesser(t, c, room.GetId())
	var last uint64
	for range 5 {
		v, err := g.guess(leader.ID())
		if err != nil {
			t.Fatalf("guess while a follower is cut off: %v", err)
		}
		last = v
	}
	if n := voters(); n != 3 {
		t.Fatalf("%d voters while a follower is cut off, want 3 (a failed member is kept)", n)
	}

	network.HealAll()
	localtest.Poll(t, 20*time.Second, "the follower alive again", func() bool {
		return serfStatus(cut.ID()) == "alive"
	})
	g.checkAll(last)
	if n := voters(); n != 3 {
		t.Fatalf("%d voters after the heal, want 3", n)
	}
}

// A batch the leader takes on its guess stream and proposes, but cannot
// commit because the leader has been cut off, is answered once the links
// heal: the deposed leader forwards it to the new one, and it is applied
// exactly once.
func TestStreamBatchOfADeposedLeaderIsAppliedOnce(t *testing.T) {
	network := faultnet.New()
	c := localtest.Start(t, localcluster.Config{Backends: 3, Network: network})
	old := c.Leader()
	// The test's own gRPC connections come from outside the network, so
	// they reach the old leader throughout.
	cl := c.Client(old.ID())
	room := createRoom(t, cl)
	ctx := localtest.Context(t, 60*time.Second)
	stream, err := cl.GuessStream(ctx)
	if err != nil {
		t.Fatalf("open stream: %v", err)
	}
	before := old.Stats().LastIndex
	network.Isolate(old.ID())
	req := &pb.GuessBatchRequest{Id: 1, TimeoutMs: 30_000, Guesses: []*pb.GuessRequest{
		{RoomId: room.GetId(), Player: "bo", PlayerId: gameclient.BotPlayerID("bo"), Letter: "q", RequestId: "bo-1"},
	}}
	if err := stream.Send(req); err != nil {
		t.Fatalf("send: %v", err)
	}
	// The old leader proposes the guess, and can commit nothing: it steps
	// down once its lease runs out, while the others elect a new leader.
	localtest.Poll(t, 10*time.Second, "the cut-off leader to propose the guess and step down", func() bool {
		return old.Stats().LastIndex > before && !old.IsLeader()
	})
	c.Leader(old.ID()) // a new leader among the others
	network.HealAll()
	rep, err := stream.Recv()
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	if rep.GetId() != 1 || len(rep.GetOutcomes()) != 1 {
		t.Fatalf("answer %d with %d outcomes, want batch 1 with one", rep.GetId(), len(rep.GetOutcomes()))
	}
	if r := rep.GetOutcomes()[0].GetReply(); r == nil || r.GetRoom().GetVersion() != room.GetVersion()+1 || !slices.Equal(r.GetRoom().GetGuessed(), []string{"q"}) {
		t.Fatalf("outcome: %s, want the guess applied", outcomeString(rep.GetOutcomes()[0]))
	}
	leader := c.Leader()
	c.AppliedEverywhere(leader.Stats().AppliedIndex)
	for _, n := range c.Running() {
		if v, guessed := roomOn(t, n, room.GetId()); v != room.GetVersion()+1 || !slices.Equal(guessed, []string{"q"}) {
			t.Errorf("node %s: version %d, guessed %v; want %d, [q]", n.ID(), v, guessed, room.GetVersion()+1)
		}
	}
}

// A room watch whose backend goes silent, its link cut without a reset
// (as a partition or a vanished host does), is moved to another backend by
// the connection's keepalive, and goes on delivering the room's changes.
func TestRoomWatchLeavesASilentlyCutBackend(t *testing.T) {
	t.Parallel()
	network := faultnet.New()
	c := localtest.Start(t, localcluster.Config{Backends: 3, Network: network})
	gc := frontendClient(t, c, "frontend", gameclient.Config{})
	ctx := localtest.Context(t, 60*time.Second)
	room, err := gc.CreateRoom(ctx, &pb.CreateRoomRequest{Host: "ana", PlayerId: gameclient.BotPlayerID("ana"), Word: "quick brown fox", MaxLives: 26})
	if err != nil {
		t.Fatalf("create room: %v", err)
	}
	events, err := gc.WatchRoom(ctx, room.GetId(), 0)
	if err != nil {
		t.Fatalf("watch room: %v", err)
	}
	var first *pb.RoomEvent
	select {
	case first = <-events:
	case <-ctx.Done():
		t.Fatal("no first event")
	}
	silent := first.GetServedBy()
	network.Cut("frontend", silent)

	// The guess reaches the leader some way (the client hedges and other
	// nodes forward); its change must come from a backend still reachable.
	reply, err := gc.Guess(ctx, &pb.GuessRequest{RoomId: room.GetId(), Player: "bo", PlayerId: gameclient.BotPlayerID("bo"), Letter: "q", RequestId: "bo-1"})
	if err != nil {
		t.Fatalf("guess with %s cut off: %v", silent, err)
	}
	want := reply.GetRoom().GetVersion()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("room watch ended")
			}
			if ev.GetRoom().GetVersion() < want {
				continue
			}
			if ev.GetServedBy() == silent {
				t.Fatalf("version %d served by %s, which is cut off", ev.GetRoom().GetVersion(), silent)
			}
			return
		case <-ctx.Done():
			t.Fatalf("the watch served by %s never delivered version %d", silent, want)
		}
	}
}
