package backend_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/gallows-game/gallows/gameclient"
	"github.com/gallows-game/gallows/internal/faultnet"
	"github.com/gallows-game/gallows/internal/history"
	"github.com/gallows-game/gallows/internal/localcluster"
	"github.com/gallows-game/gallows/internal/localcluster/localtest"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// Randomized fault runs: clients play a few rooms through two game clients
// (as two frontends would) while a nemesis partitions, delays, freezes,
// kills and restarts backends on a fault network; then everything heals,
// every room takes one last write that must succeed and one last read,
// and the recorded history is checked (see internal/history): it must be
// linearizable, no client may see a room go back, no acknowledged guess
// may be lost or doubled, watch streams must be gap-free, and every node
// must end with the same state.
var (
	faultRuns     = flag.Int("fault-runs", envInt("GALLOWS_FAULT_RUNS", 20), "randomized fault runs of TestFaultRuns")
	faultDuration = flag.Duration("fault-duration", 4*time.Second, "how long each fault run injects faults")
	faultSeed     = flag.Uint64("fault-seed", 0, "seed of the first fault run (0: from the clock)")
	faultOut      = flag.String("fault-out", os.Getenv("GALLOWS_FAULT_OUT"), "directory for the history of a failed run (default: a new temp dir, kept)")
)

func envInt(name string, def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv(name), &n); err != nil || n <= 0 {
		return def
	}
	return n
}

// TestFaultRuns runs -fault-runs randomized fault runs, each with its own
// seed, and prints a table of their results.
func TestFaultRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("fault runs take a few seconds each")
	}
	seed := *faultSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	var rows []string
	failed := 0
	for i := range *faultRuns {
		s := seed + uint64(i)
		var row string
		ok := t.Run(fmt.Sprintf("seed=%d", s), func(t *testing.T) {
			row = faultRun(t, s)
		})
		if !ok {
			failed++
			row = fmt.Sprintf("seed=%d FAILED %s", s, row)
		}
		rows = append(rows, row)
	}
	t.Logf("%d fault runs, %d failed (replay one with -fault-seed=SEED -fault-runs=1):\n%s",
		len(rows), failed, strings.Join(rows, "\n"))
}

// faultClient is one sequential caller: one player, one operation at a
// time, with what it last saw of each room.
type faultClient struct {
	name string
	gc   *gameclient.Client
	rng  *rand.Rand
	seq  int
	seen map[string]history.State
}

// faultWorld is what one run shares: the cluster, its network, the rooms
// and the record.
type faultWorld struct {
	t       *testing.T
	c       *localtest.Cluster
	network *faultnet.Network
	rooms   []string
	hosts   map[string]string // room → its host (a client's name)
	rec     *history.Recorder
	faults  []string // what the nemesis did, in order
}

// faultWords are the custom words of the rooms: short ones end rounds
// often, so next rounds race with guesses.
var faultWords = []string{"banana", "jazz", "quick brown fox", "kiwi", "rhythm"}

// faultRun runs one seeded fault run and returns its row of the table.
func faultRun(t *testing.T, seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	network := faultnet.New()
	c := localtest.Start(t, localcluster.Config{Backends: 3, Network: network})
	w := &faultWorld{t: t, c: c, network: network, hosts: map[string]string{}, rec: &history.Recorder{}}

	// Two game clients, as two frontends, each shared by three players.
	cfg := gameclient.Config{Timeout: 2 * time.Second, AttemptTimeout: time.Second}
	gcs := []*gameclient.Client{
		frontendClient(t, c, "f1", cfg),
		frontendClient(t, c, "f2", cfg),
	}
	var clients []*faultClient
	for i := range 6 {
		clients = append(clients, &faultClient{
			name: fmt.Sprintf("c%d", i), gc: gcs[i%2],
			rng: rand.New(rand.NewPCG(seed, uint64(i))), seen: map[string]history.State{},
		})
	}
	ctx := localtest.Context(t, 2*time.Minute)
	for i := range 3 {
		host := clients[i].name
		room, err := clients[i].gc.CreateRoom(ctx, &pb.CreateRoomRequest{Host: host, PlayerId: gameclient.BotPlayerID(host), Word: faultWords[rng.IntN(len(faultWords))], MaxLives: 5})
		if err != nil {
			t.Fatalf("create room: %v", err)
		}
		w.rooms = append(w.rooms, room.GetId())
		w.hosts[room.GetId()] = host
		for _, cl := range clients {
			cl.seen[room.GetId()] = stateOf(room)
		}
	}

	play, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, cl := range clients {
		wg.Go(func() { w.play(play, cl) })
	}
	watchCtx, stopWatching := context.WithCancel(ctx)
	var watchers sync.WaitGroup
	for i, room := range w.rooms {
		watchers.Go(func() { w.watch(watchCtx, fmt.Sprintf("w%d", i), room, rand.New(rand.NewPCG(seed, uint64(100+i)))) })
	}
	w.nemesis(ctx, rng, *faultDuration)
	stop()
	wg.Wait()

	// Heal and end: every room takes a write that must succeed, then a read.
	w.heal()
	// The last writes and reads wait out the election the heal may start.
	cfg.Timeout = 30 * time.Second
	final := &faultClient{name: "final", gc: frontendClient(t, c, "f3", cfg), rng: rng, seen: map[string]history.State{}}
	for _, room := range w.rooms {
		// The host ends the round the room is in: a write that must apply.
		cur := w.get(ctx, final, room)
		if cur.Outcome != history.OK {
			t.Fatalf("the read before the last write of room %s failed after the heal: %s", room, cur.Code)
		}
		if op := w.nextRound(ctx, final, room, cur.Reply.Round, true); op.Outcome != history.OK || op.Reply.Round != cur.Reply.Round+1 {
			t.Fatalf("the last write to room %s failed after the heal: %s %s (round %d)", room, op.Outcome, op.Code, op.Reply.Round)
		}
	}
	for _, room := range w.rooms {
		if op := w.get(ctx, final, room); op.Outcome != history.OK {
			t.Fatalf("the last read of room %s failed after the heal: %s", room, op.Code)
		}
	}
	stopWatching()
	watchers.Wait()
	hashes := w.stateHashes()

	report := history.Check(w.rec.Ops(), w.rec.Events(), 30*time.Second)
	row := fmt.Sprintf("seed=%d %s; %s; faults: %s", seed, report.String(), latencies(w.rec.Ops()), strings.Join(w.faults, ", "))
	// Every room ends with a read after every acknowledged write: a room
	// left unchecked for lost writes is a failure of the run too.
	if !report.OK() || report.Unchecked > 0 || hashes != "" {
		dir := *faultOut
		if dir == "" {
			// Not t.TempDir: the files must outlive the test.
			var err error
			if dir, err = os.MkdirTemp("", "gallows-fault-runs-"); err != nil {
				t.Fatal(err)
			}
		}
		dir = filepath.Join(dir, fmt.Sprintf("fault-run-%d", seed))
		paths, err := report.WriteFailure(dir)
		if err != nil {
			t.Errorf("write the failed history: %v", err)
		}
		if err := w.rec.WriteJSON(filepath.Join(dir, "history.json")); err != nil {
			t.Errorf("write the history: %v", err)
		}
		t.Errorf("fault run seed=%d failed: %s %s\nfaults: %s\n%s\nhistory and porcupine's view written to: %s",
			seed, report.String(), hashes, strings.Join(w.faults, ", "), report.Details(), strings.Join(append(paths, filepath.Join(dir, "history.json")), " "))
	}
	return row
}

// latencies sums up how long the operations took, by kind.
func latencies(ops []history.Op) string {
	by := map[history.Kind][]time.Duration{}
	for _, op := range ops {
		by[op.Kind] = append(by[op.Kind], op.Return.Sub(op.Call))
	}
	var out []string
	for _, k := range []history.Kind{history.Guess, history.Get, history.NextRound} {
		ds := by[k]
		if len(ds) == 0 {
			continue
		}
		slices.Sort(ds)
		out = append(out, fmt.Sprintf("%s n=%d p50=%v max=%v", k, len(ds), ds[len(ds)/2].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond)))
	}
	return strings.Join(out, " ")
}

// play has cl guess, read and start rounds in random rooms until ctx ends.
func (w *faultWorld) play(ctx context.Context, cl *faultClient) {
	for ctx.Err() == nil {
		room := w.rooms[cl.rng.IntN(len(w.rooms))]
		seen := cl.seen[room]
		switch p := cl.rng.Float64(); {
		case p < 0.25:
			w.get(ctx, cl, room)
		case seen.Status != history.StatusPlaying && cl.name != w.hosts[room] && p < 0.9:
			// Only the host starts the next round: the others mostly
			// wait for it, reading the room.
			w.get(ctx, cl, room)
		case seen.Status != history.StatusPlaying || p < 0.3:
			// As cl: only the room's host starts the next round (any
			// other is refused as forbidden). One client is one player,
			// as the history's model of first answers assumes.
			w.nextRound(ctx, cl, room, seen.Round, false)
		case cl.name == w.hosts[room]:
			// The host chose the room's word, so it watches: the others
			// guess.
			w.get(ctx, cl, room)
		default:
			letter := string(rune('a' + cl.rng.IntN(26)))
			for range 3 { // mostly letters not guessed yet
				if !slices.Contains(seen.Guessed, letter) {
					break
				}
				letter = string(rune('a' + cl.rng.IntN(26)))
			}
			cl.seq++
			op := w.guess(ctx, cl, room, letter, fmt.Sprintf("%s-%d", cl.name, cl.seq), seen.Round, false)
			// Send it again: after an unknown outcome, until it is known;
			// sometimes after a reply too (it must get the same reply).
			for resend := 0; resend < 3 && ctx.Err() == nil && (op.Outcome == history.Unknown || (op.Outcome == history.OK && cl.rng.IntN(8) == 0)); resend++ {
				op = w.guess(ctx, cl, room, letter, op.RequestID, seen.Round, true)
			}
		}
	}
}

// call runs one operation of cl and records it; f fills in the reply.
func (w *faultWorld) call(cl *faultClient, op history.Op, f func() (*pb.Room, bool, error)) history.Op {
	op.Client = cl.name
	op.Call = time.Now()
	room, hit, err := f()
	op.Return = time.Now()
	switch {
	case err == nil:
		op.Outcome, op.Reply, op.Hit = history.OK, stateOf(room), hit
		if op.Reply.Version > cl.seen[op.Room].Version || op.Kind == history.Get {
			cl.seen[op.Room] = op.Reply
		}
	case definite(err) != "":
		op.Outcome, op.Code = history.Fail, definite(err)
	default:
		op.Outcome, op.Code = history.Unknown, err.Error()
	}
	if op.Kind == history.Get && op.Outcome != history.OK {
		return op // a failed read tells nothing
	}
	w.rec.Add(op)
	return op
}

func (w *faultWorld) guess(ctx context.Context, cl *faultClient, room, letter, id string, round int64, resend bool) history.Op {
	return w.call(cl, history.Op{Room: room, Kind: history.Guess, Player: cl.name, Letter: letter, RequestID: id, Round: round, Resend: resend},
		func() (*pb.Room, bool, error) {
			rep, err := cl.gc.Guess(ctx, &pb.GuessRequest{RoomId: room, Player: cl.name, PlayerId: gameclient.BotPlayerID(cl.name), Letter: letter, RequestId: id, Round: round})
			return rep.GetRoom(), rep.GetHit(), err
		})
}

func (w *faultWorld) nextRound(ctx context.Context, cl *faultClient, room string, round int64, host bool) history.Op {
	player := cl.name
	if host {
		player = w.hosts[room]
	}
	return w.call(cl, history.Op{Room: room, Kind: history.NextRound, Player: player, Round: round, Host: player == w.hosts[room]},
		func() (*pb.Room, bool, error) {
			r, err := cl.gc.NextRound(ctx, &pb.NextRoundRequest{RoomId: room, Player: player, PlayerId: gameclient.BotPlayerID(player), Round: round,
				Word: faultWords[int(round)%len(faultWords)]})
			return r, false, err
		})
}

func (w *faultWorld) get(ctx context.Context, cl *faultClient, room string) history.Op {
	return w.call(cl, history.Op{Room: room, Kind: history.Get},
		func() (*pb.Room, bool, error) {
			r, err := cl.gc.GetRoom(ctx, room)
			return r, false, err
		})
}

// definite returns the code of an error that says the request was refused
// and changed nothing, or "" for an outcome that is unknown.
func definite(err error) string {
	switch status.Code(err) {
	case codes.FailedPrecondition, codes.InvalidArgument, codes.NotFound, codes.PermissionDenied:
	default:
		return ""
	}
	switch gameclient.Reason(err) {
	case pb.ErrorReason_ERROR_REASON_ALREADY_GUESSED:
		return "already_guessed"
	case pb.ErrorReason_ERROR_REASON_ROUND_OVER:
		return "round_over"
	case pb.ErrorReason_ERROR_REASON_FORBIDDEN:
		return "forbidden"
	case pb.ErrorReason_ERROR_REASON_NOT_FOUND:
		return "not_found"
	case pb.ErrorReason_ERROR_REASON_INVALID_LETTER:
		return "invalid_letter"
	}
	return "bad_request"
}

// stateOf is what the history records of a room.
func stateOf(r *pb.Room) history.State {
	st := history.State{Version: r.GetVersion(), Round: r.GetRound(), Guessed: slices.Clone(r.GetGuessed())}
	switch r.GetStatus() {
	case pb.RoundStatus_ROUND_STATUS_WON:
		st.Status = history.StatusWon
	case pb.RoundStatus_ROUND_STATUS_LOST:
		st.Status = history.StatusLost
	default:
		st.Status = history.StatusPlaying
	}
	return st
}

// watch follows room on one backend after another, from host name of the
// network, and records every event with the stream that carried it: a
// stream must be gap-free, and a new one starts no lower than the last
// version seen.
func (w *faultWorld) watch(ctx context.Context, name, room string, rng *rand.Rand) {
	var last uint64
	for n := 0; ctx.Err() == nil; n++ {
		running := w.c.Running()
		if len(running) == 0 {
			if !pause(ctx, 20*time.Millisecond) {
				return
			}
			continue
		}
		node := running[rng.IntN(len(running))]
		stream := fmt.Sprintf("%s/%d@%s", name, n, node.ID())
		cc, err := grpc.NewClient("passthrough:///"+node.GRPCAddr(),
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithContextDialer(w.network.Host(name).Dial))
		if err != nil {
			w.t.Errorf("watch: %v", err)
			return
		}
		// A stream lives a random while, so that resubscribing is exercised
		// even without faults.
		sctx, cancel := context.WithTimeout(ctx, time.Duration(300+rng.IntN(1500))*time.Millisecond)
		s, err := pb.NewGameClient(cc).WatchRoom(sctx, &pb.WatchRoomRequest{RoomId: room, FromVersion: last})
		for err == nil {
			var ev *pb.RoomEvent
			if ev, err = s.Recv(); err == nil {
				w.rec.AddEvent(history.Event{Client: name, Stream: stream, Room: room, At: time.Now(), State: stateOf(ev.GetRoom())})
				last = max(last, ev.GetRoom().GetVersion())
			}
		}
		cancel()
		_ = cc.Close()
		if !pause(ctx, 10*time.Millisecond) {
			return
		}
	}
}

// pause waits d, or until ctx ends (false).
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// nemesis injects random faults for d: each lasts a moment, then heals.
func (w *faultWorld) nemesis(ctx context.Context, rng *rand.Rand, d time.Duration) {
	end := time.Now().Add(d)
	for time.Now().Before(end) && ctx.Err() == nil {
		ids := w.c.IDs()
		leader := w.leaderID()
		victim := ids[rng.IntN(len(ids))]
		if leader != "" && rng.IntN(2) == 0 {
			victim = leader // the leader is the interesting victim
		}
		others := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return id == victim })
		hold := time.Duration(200+rng.IntN(1000)) * time.Millisecond
		switch f := rng.IntN(7); f {
		case 0:
			w.faults = append(w.faults, "isolate "+victim)
			w.network.Isolate(victim)
		case 1:
			w.faults = append(w.faults, "mute "+victim)
			for _, o := range append(others, "f1", "f2") {
				w.network.CutOneWay(victim, o)
			}
		case 2:
			w.faults = append(w.faults, "deafen "+victim)
			for _, o := range append(others, "f1", "f2") {
				w.network.CutOneWay(o, victim)
			}
		case 3:
			w.faults = append(w.faults, "slow "+victim)
			for _, o := range append(others, "f1", "f2") {
				w.network.Delay(victim, o, time.Duration(10+rng.IntN(60))*time.Millisecond)
			}
		case 4:
			// Past the election timeout: a new leader takes over meanwhile,
			// and the frozen one thaws to the requests queued for it.
			hold = time.Duration(600+rng.IntN(1200)) * time.Millisecond
			w.faults = append(w.faults, "freeze "+victim)
			w.network.Freeze(victim)
		case 5:
			w.faults = append(w.faults, "kill "+victim)
			if w.c.Node(victim) != nil && len(w.c.Running()) == len(ids) {
				w.c.Kill(victim)
			}
		case 6:
			w.faults = append(w.faults, "cut "+victim+"-f1")
			w.network.Cut(victim, "f1")
		}
		pause(ctx, hold)
		w.heal()
		pause(ctx, time.Duration(100+rng.IntN(400))*time.Millisecond)
	}
}

// heal restores every link and restarts every killed node.
func (w *faultWorld) heal() {
	for _, id := range w.c.IDs() {
		w.network.Thaw(id)
	}
	w.network.HealAll()
	for _, id := range w.c.IDs() {
		if w.c.Node(id) == nil {
			w.c.Restart(id)
		}
	}
}

// leaderID is the id of a running node that believes it leads, or "".
func (w *faultWorld) leaderID() string {
	for _, n := range w.c.Running() {
		if n.IsLeader() {
			return n.ID()
		}
	}
	return ""
}

// stateHashes waits until every node has applied the leader's last entry
// and returns "" if their states are equal, or what differs.
func (w *faultWorld) stateHashes() string {
	leader := w.c.Leader()
	w.c.AppliedEverywhere(leader.Stats().AppliedIndex)
	type hashed struct {
		index uint64
		hash  [32]byte
	}
	var first *hashed
	var diff []string
	for _, n := range w.c.Running() {
		index, hash, err := n.StateHash()
		if err != nil {
			return err.Error()
		}
		h := &hashed{index, hash}
		switch {
		case first == nil:
			first = h
		case h.hash != first.hash:
			diff = append(diff, fmt.Sprintf("%s differs (index %d, first %d)", n.ID(), h.index, first.index))
		}
	}
	if len(diff) > 0 {
		return "state hashes: " + strings.Join(diff, ", ")
	}
	return ""
}
