// Package bench measures how many guesses per second a 3-node Gallows
// cluster acknowledges, against a baseline of raw hashicorp/raft with
// raft-wal on the same machine: three Raft nodes in one process, the same
// timeouts, a trivial FSM, and as many concurrent clients.
//
// Both sides run on loopback with fresh data directories, side by side, and
// are measured in turns. Every measured operation is a real write: an Apply
// that was committed and applied, or a Guess, sent through the gameclient
// the frontends use, that changed a room. The report gives operations per
// second, the median and 99th percentile latency of each side, and the
// ratio of the two.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"

	"github.com/gallows-game/gallows/backend"
	"github.com/gallows-game/gallows/gameclient"
	"github.com/gallows-game/gallows/internal/localcluster"
	"github.com/gallows-game/gallows/internal/slogbridge"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// Defaults for the zero values of Config.
const (
	// DefaultClients is the number of concurrent clients.
	DefaultClients = 64
	// DefaultDuration is how long each side is measured.
	DefaultDuration = 5 * time.Second
)

const (
	nodes = 3
	// segmentSize is the WAL segment size of both sides (the store's default).
	segmentSize = 16 << 20
	// payloadSize is the size of a baseline log entry: about one encoded guess.
	payloadSize = 40
	// pangram is the first word of every room: all 26 letters, so with 26
	// lives the first round takes exactly 26 guesses.
	pangram = "sphinxofblackquartzjudgemyvow"
	// setupTimeout bounds starting a cluster and waiting for its leader.
	setupTimeout = 30 * time.Second
	// checkTimeout bounds the checks after a run.
	checkTimeout = 15 * time.Second
	// maxTurn is the longest a side is measured at a stretch.
	maxTurn = 500 * time.Millisecond
)

// Config configures a benchmark run. Zero values take the defaults.
type Config struct {
	// Clients is the number of concurrent clients (default 64).
	Clients int
	// Duration is how long each side is measured (default 5s).
	Duration time.Duration
	// Dir holds the nodes' data, in Dir/raft and Dir/gallows, which must be
	// absent or empty. Empty: a temporary directory, removed afterwards.
	Dir string
	// Logger receives the nodes' logs (default: discarded).
	Logger *slog.Logger

	// inspect, when set, is called by Gallows after the run and its own
	// checks, while the cluster is still up, with the cluster, its leader
	// and the code of every client's room. Tests use it.
	inspect func(ctx context.Context, c *localcluster.Cluster, leader *backend.Node, rooms []string) error
}

// Validate reports what Run would refuse in c, before anything starts.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

func (c Config) withDefaults() (Config, error) {
	if c.Clients == 0 {
		c.Clients = DefaultClients
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.Clients < 1 || c.Clients > 1024 {
		return c, fmt.Errorf("bench: %d clients: want 1 to 1024", c.Clients)
	}
	if c.Duration < 0 {
		return c, fmt.Errorf("bench: duration %v: must be positive", c.Duration)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Result is what one side of the benchmark measured.
type Result struct {
	// Name names the side: "raft" or "gallows".
	Name string
	// Ops is the number of acknowledged operations: applies or guesses.
	Ops int
	// Elapsed is the side's measured wall time: the sum of its turns, each
	// from its start until the last client stopped.
	Elapsed time.Duration
	// P50 and P99 are the median and 99th percentile operation latencies.
	P50, P99 time.Duration
	// TurnOpsPerSec is the rate of each of the side's turns, in order: how
	// much the side's own speed moved during the run.
	TurnOpsPerSec []float64
}

// OpsPerSec is Ops per second of Elapsed (0 when nothing was measured).
func (r Result) OpsPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Ops) / r.Elapsed.Seconds()
}

// TurnRange is the rate of the side's slowest and fastest turn (0, 0 when
// it had none).
func (r Result) TurnRange() (slowest, fastest float64) {
	if len(r.TurnOpsPerSec) == 0 {
		return 0, 0
	}
	return slices.Min(r.TurnOpsPerSec), slices.Max(r.TurnOpsPerSec)
}

// Report is the outcome of Run.
type Report struct {
	// Raft is the baseline: raw Raft applies.
	Raft Result
	// Gallows is guesses through gRPC on the Gallows leader.
	Gallows Result
	// Turns is how the two were measured in turns.
	Turns Turns
}

// Turns describes how the sides took turns: each was measured PerSide
// times, for Length at a time.
type Turns struct {
	Length  time.Duration
	PerSide int
}

// Ratio is Gallows guesses per second divided by Raft applies per second
// (0 when the baseline measured nothing).
func (r Report) Ratio() float64 {
	base := r.Raft.OpsPerSec()
	if base == 0 {
		return 0
	}
	return r.Gallows.OpsPerSec() / base
}

// Write prints the report as a small table followed by the ratio.
func (r Report) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tops\tops/s\tp50\tp99\tslowest turn\tfastest turn\t")
	for _, res := range []Result{r.Raft, r.Gallows} {
		slow, fast := res.TurnRange()
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%.0f\t%.0f\t\n", res.Name, res.Ops, res.OpsPerSec(), ms(res.P50), ms(res.P99), slow, fast)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("bench: write report: %w", err)
	}
	if _, err := fmt.Fprintf(w, "ratio gallows/raft: %.2f (target >= %.2f); measured in turns, %d of %v per side\n",
		r.Ratio(), Target, r.Turns.PerSide, r.Turns.Length); err != nil {
		return fmt.Errorf("bench: write report: %w", err)
	}
	return nil
}

// String is the report as Write prints it.
func (r Report) String() string {
	var b strings.Builder
	_ = r.Write(&b)
	return b.String()
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + "ms"
}

// Run starts a raw Raft cluster and a Gallows cluster side by side, then
// measures them in turns (see alternate) with the same number of clients,
// and checks afterwards that every acknowledged operation was applied.
func Run(ctx context.Context, cfg Config) (Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Report{}, err
	}
	dir, cleanup, err := runDir(cfg.Dir)
	if err != nil {
		return Report{}, err
	}
	defer cleanup()
	// Every goroutine of a side, started by its cluster or its clients,
	// carries the label side=raft or side=gallows, so that a CPU profile of
	// the run splits by side (go tool pprof -tagfocus side=gallows).
	var raftSide, gallowsSide *side
	pprof.Do(ctx, pprof.Labels("side", "raft"), func(ctx context.Context) { raftSide, err = startRaft(ctx, cfg, dir) })
	if err != nil {
		return Report{}, err
	}
	defer raftSide.stop()
	pprof.Do(ctx, pprof.Labels("side", "gallows"), func(ctx context.Context) { gallowsSide, err = startGallows(ctx, cfg, dir) })
	if err != nil {
		return Report{}, err
	}
	defer gallowsSide.stop()
	sides := []*side{raftSide, gallowsSide}
	results, turns, err := alternate(ctx, cfg, sides)
	if err != nil {
		return Report{}, err
	}
	for i, sd := range sides {
		if err := sd.check(ctx, results[i]); err != nil {
			return Report{}, err
		}
	}
	return Report{Raft: results[0], Gallows: results[1], Turns: turns}, nil
}

// side is one half of the comparison: a started cluster and its clients.
type side struct {
	name string
	// setup prepares client i, unmeasured, and returns its step.
	setup func(ctx context.Context, i int) (step, error)
	// check verifies, after the measurement, that the cluster applied
	// exactly what res counted.
	check func(ctx context.Context, res Result) error
	// stop stops the cluster.
	stop func()
}

// runDir returns dir, or a new temporary directory and a function that
// removes it.
func runDir(dir string) (string, func(), error) {
	if dir != "" {
		return dir, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "gallows-bench-")
	if err != nil {
		return "", nil, fmt.Errorf("bench: temp dir: %w", err)
	}
	return tmp, func() { _ = os.RemoveAll(tmp) }, nil
}

// freshDir creates dir/sub and checks that it is empty.
func freshDir(dir, sub string) (string, error) {
	p := filepath.Join(dir, sub)
	if err := os.MkdirAll(p, 0o750); err != nil {
		return "", fmt.Errorf("bench: create %s: %w", p, err)
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return "", fmt.Errorf("bench: read %s: %w", p, err)
	}
	if len(entries) > 0 {
		return "", fmt.Errorf("bench: %s is not empty: the benchmark needs fresh nodes", p)
	}
	return p, nil
}

// ---- Baseline: raw Raft ----

// countFSM counts applied entries.
type countFSM struct{ n atomic.Uint64 }

func (f *countFSM) Apply(*raft.Log) any {
	f.n.Add(1)
	return nil
}

func (f *countFSM) Snapshot() (raft.FSMSnapshot, error) { return countSnapshot(f.n.Load()), nil }

func (f *countFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("restore count: %w", err)
	}
	n, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("restore count: %w", err)
	}
	f.n.Store(n)
	return nil
}

type countSnapshot uint64

func (s countSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write([]byte(strconv.FormatUint(uint64(s), 10))); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("write snapshot: %w", err)
	}
	if err := sink.Close(); err != nil {
		return fmt.Errorf("close snapshot: %w", err)
	}
	return nil
}

func (countSnapshot) Release() {}

// raftNode is one baseline node.
type raftNode struct {
	id        string
	raft      *raft.Raft
	fsm       *countFSM
	wal       *wal.WAL
	meta      *metadb.BoltMetaDB // raft-wal's Close leaves it open
	transport *raft.NetworkTransport
}

func (n *raftNode) close() error {
	var errs []error
	if n.raft != nil {
		errs = append(errs, n.raft.Shutdown().Error())
	}
	if n.transport != nil {
		errs = append(errs, n.transport.Close())
	}
	if n.wal != nil {
		errs = append(errs, n.wal.Close())
	}
	errs = append(errs, n.meta.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bench: stop raft node %s: %w", n.id, err)
	}
	return nil
}

// startRaftNode starts a baseline node set up like a Gallows store: raft-wal
// as log and stable store, file snapshots, TCP transport, same timeouts.
func startRaftNode(dir, id string, log *slog.Logger) (_ *raftNode, err error) {
	n := &raftNode{id: id, fsm: &countFSM{}, meta: &metadb.BoltMetaDB{}}
	defer func() {
		if err != nil {
			_ = n.close()
		}
	}()
	log = log.With("node", id)
	walDir := filepath.Join(dir, id, "wal")
	if err := os.MkdirAll(walDir, 0o750); err != nil {
		return nil, fmt.Errorf("bench: create %s: %w", walDir, err)
	}
	if n.wal, err = wal.Open(walDir, wal.WithMetaStore(n.meta), wal.WithSegmentSize(segmentSize), wal.WithLogger(slogbridge.Hclog(log, "wal"))); err != nil {
		return nil, fmt.Errorf("bench: open wal of %s: %w", id, err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(filepath.Join(dir, id), 2, slogbridge.Hclog(log, "snapshot"))
	if err != nil {
		return nil, fmt.Errorf("bench: open snapshots of %s: %w", id, err)
	}
	if n.transport, err = raft.NewTCPTransportWithLogger("127.0.0.1:0", nil, 3, 10*time.Second, slogbridge.Hclog(log, "transport")); err != nil {
		return nil, fmt.Errorf("bench: raft transport of %s: %w", id, err)
	}
	rc := backend.RaftConfig(id)
	// The store's defaults, so snapshots behave alike on both sides.
	rc.SnapshotThreshold, rc.SnapshotInterval, rc.TrailingLogs = 8192, 30*time.Second, 10240
	rc.Logger = slogbridge.Hclog(log, "raft")
	if n.raft, err = raft.NewRaft(rc, n.fsm, n.wal, n.wal, snaps, n.transport); err != nil {
		return nil, fmt.Errorf("bench: start raft %s: %w", id, err)
	}
	return n, nil
}

// startRaft starts the baseline: a 3-node raw Raft cluster whose clients
// each apply ~40-byte entries on the leader, one at a time.
func startRaft(ctx context.Context, cfg Config, base string) (_ *side, err error) {
	dir, err := freshDir(base, "raft")
	if err != nil {
		return nil, err
	}
	var ns []*raftNode
	stop := func() {
		// The leader goes first, before the others can notice and call an election.
		slices.SortStableFunc(ns, func(a, b *raftNode) int {
			return cmpBool(b.raft.State() == raft.Leader, a.raft.State() == raft.Leader)
		})
		for _, n := range ns {
			if err := n.close(); err != nil {
				cfg.Logger.Warn("stop raft node", "err", err)
			}
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	var servers []raft.Server
	for i := range nodes {
		n, err := startRaftNode(dir, "r"+strconv.Itoa(i+1), cfg.Logger)
		if err != nil {
			return nil, err
		}
		ns = append(ns, n)
		servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(n.id), Address: n.transport.LocalAddr()})
	}
	members := make([]member, len(ns))
	for i, n := range ns {
		if err := n.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
			return nil, fmt.Errorf("bench: bootstrap %s: %w", n.id, err)
		}
		members[i] = member{id: n.id, raft: n.raft}
	}
	sctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	li, err := waitLeader(sctx, members)
	if err != nil {
		return nil, err
	}
	leader := ns[li]
	before := leader.fsm.n.Load()

	payload := make([]byte, payloadSize)
	for i := range payload {
		payload[i] = 'a' + byte(i%26)
	}
	apply := func(context.Context) (bool, error) {
		if err := leader.raft.Apply(payload, 0).Error(); err != nil {
			return false, fmt.Errorf("bench: raft: apply on leader %s: %w", leader.id, err)
		}
		return true, nil
	}
	return &side{
		name:  "raft",
		setup: func(context.Context, int) (step, error) { return apply, nil },
		check: func(_ context.Context, res Result) error {
			// Every acknowledged apply ran the leader's FSM exactly once.
			if got := leader.fsm.n.Load() - before; got != uint64(res.Ops) {
				return fmt.Errorf("bench: raft: %d applies acknowledged but the leader's FSM applied %d", res.Ops, got)
			}
			return nil
		},
		stop: stop,
	}, nil
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	default:
		return -1
	}
}

// member is one Raft node of a cluster being waited on.
type member struct {
	id   string
	raft *raft.Raft
}

// waitLeader waits until exactly one node is the leader and every node
// names it, and returns its index. It wakes on Raft's leader and state
// observations, never on a timer.
func waitLeader(ctx context.Context, ms []member) (int, error) {
	ch := make(chan raft.Observation, 64)
	obs := raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		switch o.Data.(type) {
		case raft.LeaderObservation, raft.RaftState:
			return true
		}
		return false
	})
	for _, m := range ms {
		m.raft.RegisterObserver(obs)
	}
	defer func() {
		for _, m := range ms {
			m.raft.DeregisterObserver(obs)
		}
	}()
	for {
		if i, ok := agreedLeader(ms); ok {
			return i, nil
		}
		// A dropped observation means the channel holds others: we still wake.
		select {
		case <-ch:
		case <-ctx.Done():
			return -1, fmt.Errorf("bench: wait for a leader all nodes agree on: %w", ctx.Err())
		}
	}
}

func agreedLeader(ms []member) (int, bool) {
	leader := -1
	for i, m := range ms {
		if m.raft.State() == raft.Leader {
			if leader >= 0 {
				return -1, false
			}
			leader = i
		}
	}
	if leader < 0 {
		return -1, false
	}
	for _, m := range ms {
		if _, id := m.raft.LeaderWithID(); string(id) != ms[leader].id {
			return -1, false
		}
	}
	return leader, true
}

// ---- Gallows ----

// gallowsClient is one client's view of its own room.
type gallowsClient struct {
	game   *gameclient.Client
	n      int
	player string
	id     string // the player's id, gameclient.BotPlayerID(player)
	// host hosts the client's room, with id hostID: it chose the word,
	// so it watches, and starts the next rounds, while player guesses.
	host    string
	hostID  string
	room    string
	guessed [26]bool
	playing bool
	seq     int
	version uint64 // the room's version in the last reply
	round   int64  // the room's round in the last reply
	guesses int    // acknowledged guesses
}

func (c *gallowsClient) track(r *pb.Room) error {
	c.guessed = [26]bool{}
	for _, l := range r.GetGuessed() {
		if len(l) != 1 || l[0] < 'a' || l[0] > 'z' {
			return fmt.Errorf("room %s: guessed letter %q is not a-z", c.room, l)
		}
		c.guessed[l[0]-'a'] = true
	}
	c.playing = r.GetStatus() == pb.RoundStatus_ROUND_STATUS_PLAYING
	c.version, c.round = r.GetVersion(), r.GetRound()
	return nil
}

// next returns the next letter not guessed this round, or "".
func (c *gallowsClient) next() string {
	for i, g := range c.guessed {
		if !g {
			return string(rune('a' + i))
		}
	}
	return ""
}

func (c *gallowsClient) create(ctx context.Context) error {
	room, err := c.game.CreateRoom(ctx, &pb.CreateRoomRequest{Host: c.host, PlayerId: c.hostID, Word: pangram, MaxLives: 26})
	if err != nil {
		return fmt.Errorf("client %d: create room: %w", c.n, err)
	}
	c.room = room.GetId()
	if err := c.track(room); err != nil {
		return err
	}
	if !c.playing || len(room.GetGuessed()) != 0 {
		return fmt.Errorf("client %d: new room %s is not a fresh round: %v", c.n, c.room, room.GetStatus())
	}
	return nil
}

// step makes one move: a guess (measured) or, when the round is over, the
// next round (not measured).
func (c *gallowsClient) step(ctx context.Context) (bool, error) {
	letter := c.next()
	if !c.playing || letter == "" {
		room, err := c.game.NextRound(ctx, &pb.NextRoundRequest{RoomId: c.room, Player: c.host, PlayerId: c.hostID, Round: c.round, Word: pangram})
		if err != nil {
			return false, fmt.Errorf("client %d: next round in room %s: %w", c.n, c.room, err)
		}
		prev := c.round
		if err := c.track(room); err != nil {
			return false, err
		}
		// The request names the round it ends, so even a retried NextRound
		// advances exactly one round.
		if !c.playing || len(room.GetGuessed()) != 0 || c.round != prev+1 {
			return false, fmt.Errorf("client %d: next round in room %s went from round %d to %d, want one fresh round",
				c.n, c.room, prev, c.round)
		}
		return false, nil
	}
	c.seq++
	// Brief, as the frontend's websocket asks: the tabs get the room from
	// its watch, so the reply leaves out players and log.
	reply, err := c.game.Guess(ctx, &pb.GuessRequest{
		RoomId: c.room, Player: c.player, PlayerId: c.id, Letter: letter, RequestId: fmt.Sprintf("c%d-%d", c.n, c.seq), Brief: true,
	})
	if err != nil {
		switch reason := gameclient.Reason(err); reason {
		case pb.ErrorReason_ERROR_REASON_ALREADY_GUESSED, pb.ErrorReason_ERROR_REASON_ROUND_OVER:
			return false, fmt.Errorf("client %d: guess %q in room %s refused with %v although the room's state said it was valid: %w",
				c.n, letter, c.room, reason, err)
		}
		return false, fmt.Errorf("client %d: guess %q in room %s: %w", c.n, letter, c.room, err)
	}
	// A retried request id is answered with its first reply, which ends
	// with the letter as well: applied once, as promised, and so counted.
	g := reply.GetRoom().GetGuessed()
	if len(g) == 0 || g[len(g)-1] != letter {
		return false, fmt.Errorf("client %d: guess %q in room %s was not applied (guessed %v)",
			c.n, letter, c.room, g)
	}
	if err := c.track(reply.GetRoom()); err != nil {
		return false, err
	}
	c.guesses++
	return true, nil
}

// startGallows starts three real backends (see internal/localcluster) and
// one gameclient shared by the clients, as a frontend's players share one.
// Each client owns a room and guesses there, one guess at a time; a client
// whose round is over starts the next one, unmeasured.
func startGallows(ctx context.Context, cfg Config, base string) (_ *side, err error) {
	dir, err := freshDir(base, "gallows")
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	cluster, err := localcluster.Start(sctx, localcluster.Config{
		Backends: nodes, Dir: dir, Logger: cfg.Logger,
		Backend: func(bc *backend.Config) { bc.SegmentSize = segmentSize },
	})
	if err != nil {
		return nil, fmt.Errorf("bench: start gallows: %w", err)
	}
	var gc *gameclient.Client
	stop := func() {
		if gc != nil {
			if err := gc.Close(); err != nil {
				cfg.Logger.Warn("close game client", "err", err)
			}
		}
		// The data is thrown away, so a crash stop will do.
		if err := cluster.Close(); err != nil {
			cfg.Logger.Warn("stop gallows cluster", "err", err)
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	leader, err := cluster.Leader(sctx)
	if err != nil {
		return nil, fmt.Errorf("bench: gallows: %w", err)
	}
	term := leader.Stats().Term

	// Measuring starts once the gameclient knows the leader.
	if gc, err = gameclient.New(cluster.GameClientConfig("")); err != nil {
		return nil, fmt.Errorf("bench: game client: %w", err)
	}
	if err := waitClientLeader(sctx, gc, leader.ID()); err != nil {
		return nil, err
	}

	clients := make([]*gallowsClient, cfg.Clients)
	return &side{
		name: "gallows",
		setup: func(ctx context.Context, i int) (step, error) {
			player := "p" + strconv.Itoa(i)
			host := "h" + strconv.Itoa(i)
			c := &gallowsClient{game: gc, n: i, player: player, id: gameclient.BotPlayerID(player), host: host, hostID: gameclient.BotPlayerID(host)}
			clients[i] = c
			if err := c.create(ctx); err != nil {
				return nil, err
			}
			return c.step, nil
		},
		check: func(ctx context.Context, res Result) error {
			return checkGallows(ctx, cfg, cluster, term, clients, res)
		},
		stop: stop,
	}, nil
}

// checkGallows checks, on whichever node leads now, that nothing changed a
// room after its client's last reply and that every acknowledged guess was
// applied exactly once: a room's version counts its creation and every
// change, its round the creation and every applied NextRound, so version -
// round counts the applied guesses. The leader's state holds every
// acknowledged guess: a leader has applied every entry of earlier terms
// (see backend.Node.IsLeader), and answers a write of its own term only
// once it has applied it.
func checkGallows(ctx context.Context, cfg Config, cluster *localcluster.Cluster, term uint64, clients []*gallowsClient, res Result) error {
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	leader, err := cluster.Leader(cctx)
	if err != nil {
		return fmt.Errorf("bench: gallows: %w", err)
	}
	if now := leader.Stats().Term; now != term {
		cfg.Logger.Warn("a leader election happened during the measured run: the numbers include a failover",
			"term_before", term, "term_after", now, "leader", leader.ID())
	}
	total := 0
	rooms := make([]string, len(clients))
	for i, c := range clients {
		rooms[i] = c.room
		total += c.guesses
		r, ok := leader.Room(c.room)
		if !ok {
			return fmt.Errorf("bench: gallows: room %s of client %d is missing on the leader", c.room, i)
		}
		if r.Version != c.version {
			return fmt.Errorf("bench: gallows: room %s of client %d is at version %d, the client's last reply showed %d",
				c.room, i, r.Version, c.version)
		}
		if applied := int(r.Version) - r.Round; applied != c.guesses {
			return fmt.Errorf("bench: gallows: room %s of client %d holds %d guesses, the client had %d acknowledged",
				c.room, i, applied, c.guesses)
		}
	}
	if total != res.Ops {
		return fmt.Errorf("bench: gallows: clients counted %d guesses, the run measured %d", total, res.Ops)
	}
	if cfg.inspect != nil {
		if err := cfg.inspect(cctx, cluster, leader, rooms); err != nil {
			return fmt.Errorf("bench: gallows: inspect: %w", err)
		}
	}
	return nil
}

// waitClientLeader waits until gc names leader as the leader.
func waitClientLeader(ctx context.Context, gc *gameclient.Client, leader string) error {
	statuses := gc.WatchCluster(ctx)
	for {
		if gc.Cluster().GetLeaderId() == leader {
			return nil
		}
		select {
		case _, ok := <-statuses:
			if !ok {
				return fmt.Errorf("bench: the game client did not learn the leader %s: %w", leader, ctx.Err())
			}
		case <-ctx.Done():
			return fmt.Errorf("bench: the game client did not learn the leader %s: %w", leader, ctx.Err())
		}
	}
}

// ---- Shared ----

// step makes one operation and reports whether it is to be measured.
type step func(ctx context.Context) (measured bool, err error)

// alternate sets up cfg.Clients clients on every side (unmeasured), then
// measures the sides in turns of up to maxTurn each, in the order ABBA
// ABBA..., until each side has been measured for cfg.Duration. In a turn,
// all clients of the side repeat their step until the turn's time is up;
// an operation under way then finishes and counts, and the turn lasts until
// the last one has. The other side's clients wait meanwhile. Taking turns
// this way, both sides see the same machine: a drift in disk or CPU speed
// during the run hits both alike. The first error stops every client and
// is returned.
func alternate(ctx context.Context, cfg Config, sides []*side) ([]Result, Turns, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var failOnce sync.Once
	fail := func(err error) { failOnce.Do(func() { cancel(err) }) }

	type client struct {
		st   step
		turn chan time.Time // the end of each turn the client takes part in
		lat  []time.Duration
	}
	clients := make([][]*client, len(sides))
	var setup sync.WaitGroup
	for s, sd := range sides {
		clients[s] = make([]*client, cfg.Clients)
		for i := range cfg.Clients {
			setup.Go(func() {
				st, err := sd.setup(ctx, i)
				if err != nil {
					fail(err)
					return
				}
				clients[s][i] = &client{st: st, turn: make(chan time.Time), lat: make([]time.Duration, 0, 1024)}
			})
		}
	}
	setup.Wait()
	if ctx.Err() != nil {
		return nil, Turns{}, fmt.Errorf("bench: set up clients: %w", context.Cause(ctx))
	}

	var running, turnDone sync.WaitGroup
	for s, cs := range clients {
		for _, c := range cs {
			running.Go(func() {
				// A client's own goroutines (the gameclient's) inherit it.
				pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels("side", sides[s].name)))
				for end := range c.turn {
					for ctx.Err() == nil && time.Now().Before(end) {
						t := time.Now()
						measured, err := c.st(ctx)
						if err != nil {
							fail(err)
							break
						}
						if measured {
							c.lat = append(c.lat, time.Since(t))
						}
					}
					turnDone.Done()
				}
			})
		}
	}
	turnLen := min(maxTurn, cfg.Duration)
	turns := Turns{Length: turnLen, PerSide: int((cfg.Duration + turnLen - 1) / turnLen)}
	elapsed := make([]time.Duration, len(sides))
	turnRates := make([][]float64, len(sides))
	measured := func(s int) int {
		n := 0
		for _, c := range clients[s] {
			n += len(c.lat)
		}
		return n
	}
	for t := 0; t < turns.PerSide && ctx.Err() == nil; t++ {
		order := make([]int, len(sides))
		for i := range order {
			order[i] = i
		}
		if t%2 == 1 {
			slices.Reverse(order)
		}
		for _, s := range order {
			if ctx.Err() != nil {
				break
			}
			// The clients of side s only record during their turns, and
			// turnDone orders their records before what is read here.
			before := measured(s)
			start := time.Now()
			end := start.Add(turnLen)
			turnDone.Add(len(clients[s]))
			for _, c := range clients[s] {
				c.turn <- end
			}
			turnDone.Wait()
			took := time.Since(start)
			elapsed[s] += took
			turnRates[s] = append(turnRates[s], float64(measured(s)-before)/took.Seconds())
		}
	}
	for _, cs := range clients {
		for _, c := range cs {
			close(c.turn)
		}
	}
	running.Wait()
	if ctx.Err() != nil {
		return nil, turns, fmt.Errorf("bench: %w", context.Cause(ctx))
	}
	results := make([]Result, len(sides))
	for s, sd := range sides {
		var all []time.Duration
		for _, c := range clients[s] {
			all = append(all, c.lat...)
		}
		slices.Sort(all)
		results[s] = Result{Name: sd.name, Ops: len(all), Elapsed: elapsed[s], P50: percentile(all, 50), P99: percentile(all, 99), TurnOpsPerSec: turnRates[s]}
		cfg.Logger.Info("bench side done", "name", sd.name, "ops", len(all), "elapsed", elapsed[s])
	}
	return results, turns, nil
}

// percentile returns the nearest-rank p-th percentile of sorted.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (len(sorted)*p + 99) / 100 // ceil(n*p/100)
	return sorted[max(rank, 1)-1]
}
