// Package store keeps the game state in a Raft log: hashicorp/raft with
// raft-wal for the log and file snapshots, an FSM that applies batches of
// game commands deterministically, and subscriptions to every applied change.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"

	"github.com/gallows-game/gallows/backend/game"
	"github.com/gallows-game/gallows/internal/slogbridge"
)

// Config configures a Store. Zero values take the documented defaults.
type Config struct {
	// ID is this node's Raft server id.
	ID string
	// Dir holds the write-ahead log and the snapshots.
	Dir string
	// BindAddr is the host:port Raft listens on (port 0 picks one).
	BindAddr string
	// Advertise is the host:port other nodes dial; defaults to the bound address.
	Advertise string
	// Network opens Raft's connections; defaults to TCP.
	Network Network
	// TimeoutScale multiplies every Raft timeout (default 1: tuned for a LAN,
	// a dead leader is replaced in well under a second).
	TimeoutScale float64
	// SnapshotThreshold is how many log entries trigger a snapshot (default 8192).
	SnapshotThreshold uint64
	// SnapshotInterval is how often the threshold is checked (default 30s).
	SnapshotInterval time.Duration
	// TrailingLogs is how many entries are kept after a snapshot (default 10240).
	TrailingLogs uint64
	// MaxBatch caps the commands in one log entry (default 512).
	MaxBatch int
	// SegmentSize is the size of a WAL segment file in bytes (default 16 MiB).
	SegmentSize int
	// Logger receives the store's and Raft's logs.
	Logger *slog.Logger
	// RaftLogLevel, if set, decides the level of each line Raft and its
	// transport log (see slogbridge.Level): the node logs lower what it
	// expects, such as failures to reach a peer that left.
	RaftLogLevel slogbridge.Level
	// OnLeading, if set, is called each time this node becomes ready to
	// lead: elected, with every entry of earlier terms applied (its
	// barrier). It runs on the store's leader loop and must not block.
	OnLeading func()
	// OnRoomChange, if set, sees every room a command changed, as applied,
	// and every room a snapshot restored. It runs in the state machine and
	// must not block.
	OnRoomChange func(*game.Room)

	// wrapLogs, if set, wraps the Raft log store (tests slow its writes).
	wrapLogs func(raft.LogStore) raft.LogStore
}

func (c *Config) setDefaults() error {
	if c.ID == "" {
		return errors.New("store: node id is required")
	}
	if c.Dir == "" {
		return errors.New("store: data dir is required")
	}
	if c.BindAddr == "" {
		return errors.New("store: raft bind address is required")
	}
	if c.TimeoutScale == 0 {
		c.TimeoutScale = 1
	}
	if !(c.TimeoutScale >= MinTimeoutScale && c.TimeoutScale <= MaxTimeoutScale) { // NaN too
		return fmt.Errorf("store: timeout scale %v out of range [%v, %v]", c.TimeoutScale, MinTimeoutScale, MaxTimeoutScale)
	}
	if c.Network == nil {
		c.Network = TCP{}
	}
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = 8192
	}
	if c.SnapshotInterval == 0 {
		c.SnapshotInterval = 30 * time.Second
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = 10240
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 512
	}
	if c.SegmentSize <= 0 {
		c.SegmentSize = 16 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// The range of Config.TimeoutScale.
const (
	MinTimeoutScale = 0.05
	MaxTimeoutScale = 100
)

// RaftConfig returns the Raft configuration for id with every timeout
// multiplied by scale. Scale 1 suits a LAN.
func RaftConfig(id string, scale float64) *raft.Config {
	d := func(base time.Duration) time.Duration { return time.Duration(float64(base) * scale) }
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(id)
	rc.HeartbeatTimeout = d(200 * time.Millisecond)
	rc.ElectionTimeout = d(200 * time.Millisecond)
	rc.LeaderLeaseTimeout = d(200 * time.Millisecond)
	rc.CommitTimeout = max(d(5*time.Millisecond), time.Millisecond) // Raft's least
	rc.MaxAppendEntries = 256
	return rc
}

// Result is the outcome of one applied command.
type Result struct {
	game.Result
	// Index is the Raft index of the log entry that carried the command.
	Index uint64
}

// proposal is one command of a ProposeAll call, queued for a log entry.
type proposal struct {
	enc  []byte // the command, encoded as part of a log entry
	call *call
	at   int // the command's position in the call
}

type outcome struct {
	res Result
	err error
}

// call gathers the outcomes of the proposals of one ProposeAll call.
type call struct {
	cmds   []game.Command // kept to judge refusals again (see propose)
	res    []Result
	errs   []error
	left   atomic.Int64 // outcomes still to come
	answer func([]Result, []error)
	slot   chan struct{} // the store's pending calls, of which this is one; nil if not queued
}

// answer records p's outcome and, if it was the call's last, answers the call.
func (p *proposal) answer(o outcome) {
	c := p.call
	c.res[p.at], c.errs[p.at] = o.res, o.err
	if c.left.Add(-1) == 0 {
		if c.slot != nil {
			<-c.slot
		}
		c.answer(c.res, c.errs)
	}
}

// Store is one node's replica of the game state.
type Store struct {
	cfg       Config
	log       *slog.Logger
	raft      *raft.Raft
	fsm       *fsm
	closeWAL  func() error
	transport *raft.NetworkTransport
	entries   *entries
	hasState  bool

	pending chan struct{} // one token per call queued and not answered yet
	// unanswered holds the entries handed to Raft whose answers nobody
	// has claimed yet: finish claims one when Raft answers it, Close the
	// rest. answering counts the claimed answers still being given.
	unansweredMu sync.Mutex
	unanswered   map[*openEntry]struct{}
	answering    sync.WaitGroup
	closing      chan struct{}
	wg           sync.WaitGroup
	closeOnce    sync.Once
	closeErr     error

	readyTerm     atomic.Uint64 // the term in which this node, as leader, applied its barrier
	pauses        *pauseWatch   // notices this process stopped (see ReadIndex)
	leaderMu      sync.Mutex
	leaderChanged chan struct{} // closed and replaced on every leader change
	observer      *raft.Observer
	observations  chan raft.Observation
}

// Open starts a Store on cfg.Dir. A new node waits to be bootstrapped or
// added to a cluster; a node with state on disk rejoins its cluster.
//
// Open also returns the store's Raft node, for the one other part that
// drives it: membership, which bootstraps the cluster and adds and
// removes voters. Everything else goes through the Store, which has no
// accessor for it.
func Open(cfg Config) (*Store, *raft.Raft, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, nil, err
	}
	log := cfg.Logger.With("node", cfg.ID)
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "wal"), 0o750); err != nil {
		return nil, nil, fmt.Errorf("store: create data dir: %w", err)
	}
	// raft-wal's Close leaves its meta database open (and locked), so the
	// store owns it and closes it: a node can then reopen its dir in-process.
	meta := &metadb.BoltMetaDB{}
	w, err := wal.Open(filepath.Join(cfg.Dir, "wal"), wal.WithMetaStore(meta),
		wal.WithLogger(slogbridge.Hclog(log, "wal")), wal.WithSegmentSize(cfg.SegmentSize))
	if err != nil {
		_ = meta.Close()
		return nil, nil, fmt.Errorf("store: open wal: %w", err)
	}
	closeWAL := func() error { return errors.Join(w.Close(), meta.Close()) }
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, 2, slogbridge.Hclog(log, "snapshot"))
	if err != nil {
		_ = closeWAL()
		return nil, nil, fmt.Errorf("store: open snapshots: %w", err)
	}
	hasState, err := raft.HasExistingState(w, w, snaps)
	if err != nil {
		_ = closeWAL()
		return nil, nil, fmt.Errorf("store: read raft state: %w", err)
	}
	stream, err := newStreamLayer(cfg.Network, cfg.BindAddr, cfg.Advertise)
	if err != nil {
		_ = closeWAL()
		return nil, nil, fmt.Errorf("store: %w", err)
	}
	transport := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  stream,
		MaxPool: 3,
		Timeout: 10 * time.Second,
		Logger:  slogbridge.HclogLeveled(log, "transport", cfg.RaftLogLevel),
		// One AppendEntries in flight per follower: no pipelining. Raft's
		// pipeline can deadlock when a follower refuses an entry (or
		// answers with a higher term) while the leader sends the next one:
		// the pipeline's decoder stops reading answers while the sender
		// waits for room among them, and the pipeline is never closed. The
		// follower then gets heartbeats but no entries for good, and Raft's
		// Shutdown never returns. The randomized fault runs hit it. Each
		// entry carries every command queued during the previous write
		// (entries.go), so one entry in flight costs little.
		MaxRPCsInFlight: 1,
	})

	rc := RaftConfig(cfg.ID, cfg.TimeoutScale)
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.SnapshotInterval = cfg.SnapshotInterval
	rc.TrailingLogs = cfg.TrailingLogs
	rc.Logger = slogbridge.HclogLeveled(log, "raft", cfg.RaftLogLevel)

	f := newFSM()
	f.onChange = cfg.OnRoomChange
	var inner raft.LogStore = w
	if cfg.wrapLogs != nil {
		inner = cfg.wrapLogs(w)
	}
	logs := newEntries(inner, cfg.MaxBatch)
	r, err := raft.NewRaft(rc, f, logs, w, indexedSnapshots{SnapshotStore: snaps, fsm: f}, transport)
	if err != nil {
		_ = transport.Close()
		_ = closeWAL()
		return nil, nil, fmt.Errorf("store: start raft: %w", err)
	}
	s := &Store{
		cfg: cfg, log: log, raft: r, fsm: f, closeWAL: closeWAL, transport: transport, hasState: hasState,
		entries:       logs,
		pending:       make(chan struct{}, maxPendingCalls),
		unanswered:    map[*openEntry]struct{}{},
		closing:       make(chan struct{}),
		leaderChanged: make(chan struct{}),
		observations:  make(chan raft.Observation, 64),
		// A stop shorter than half a heartbeat timeout lets no follower
		// start an election; after a longer one, leadership checks wait
		// until fresh answers have replaced any sent before it.
		pauses: newPauseWatch(rc.HeartbeatTimeout/2, 2*rc.ElectionTimeout),
	}
	s.observer = raft.NewObserver(s.observations, false, func(o *raft.Observation) bool {
		switch o.Data.(type) {
		case raft.LeaderObservation, raft.RaftState:
			return true
		}
		return false
	})
	r.RegisterObserver(s.observer)
	s.wg.Add(3)
	go s.watchLeader()
	go s.proposeEntries()
	go func() {
		defer s.wg.Done()
		s.pauses.run(s.closing)
	}()
	return s, r, nil
}

// HasState reports whether the node found Raft state on disk at Open.
func (s *Store) HasState() bool { return s.hasState }

// RaftAddr is the address other nodes use to reach this node's Raft.
func (s *Store) RaftAddr() string { return string(s.transport.LocalAddr()) }

// IsLeader reports whether this node is the Raft leader now and has
// applied every entry of earlier terms, so its state is the latest committed
// one. A node that has just won an election is not IsLeader until its
// barrier is applied: before that its state may miss the old leader's last
// writes, and validating against it would give wrong answers.
func (s *Store) IsLeader() bool {
	return s.raft.State() == raft.Leader && s.readyTerm.Load() == s.raft.CurrentTerm()
}

// VerifyLeader confirms that this node still leads: a quorum has heard
// from it as leader since the call. It fails with ErrNotLeader or
// ErrLeadershipLost otherwise.
func (s *Store) VerifyLeader() error {
	return raftError(s.raft.VerifyLeader().Error())
}

// Leader returns the current leader's id and Raft address, empty when unknown.
func (s *Store) Leader() (id, addr string) {
	a, i := s.raft.LeaderWithID()
	return string(i), string(a)
}

// LeaderChanged returns a channel closed at the next leader change.
func (s *Store) LeaderChanged() <-chan struct{} {
	s.leaderMu.Lock()
	defer s.leaderMu.Unlock()
	return s.leaderChanged
}

// WaitForLeader blocks until a leader is known, returning its id.
func (s *Store) WaitForLeader(ctx context.Context) (string, error) {
	for {
		changed := s.LeaderChanged()
		if id, _ := s.Leader(); id != "" {
			return id, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return "", fmt.Errorf("wait for leader: %w", ctx.Err())
		case <-s.closing:
			return "", ErrClosed
		}
	}
}

// watchLeader tells waiters about leader changes and, when this node
// wins an election, applies a barrier before it acts as leader. The ticker
// catches observations raft dropped.
func (s *Store) watchLeader() {
	defer s.wg.Done()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	barrierDone := make(chan struct{}, 1)
	inBarrier := false
	for {
		select {
		case o := <-s.observations:
			if lo, ok := o.Data.(raft.LeaderObservation); ok {
				s.log.Info("leader changed", "leader", lo.LeaderID, "addr", lo.LeaderAddr)
			}
			s.notifyLeaderChanged()
		case <-barrierDone:
			inBarrier = false
			s.notifyLeaderChanged()
		case <-tick.C:
		case <-s.closing:
			return
		}
		term := s.raft.CurrentTerm()
		if !inBarrier && s.raft.State() == raft.Leader && s.readyTerm.Load() != term {
			inBarrier = true
			go func() {
				defer func() { barrierDone <- struct{}{} }()
				if err := s.raft.Barrier(5 * time.Second).Error(); err != nil {
					s.log.Warn("leader barrier failed", "term", term, "err", err)
					return
				}
				s.readyTerm.Store(term)
				s.log.Info("leader ready: earlier terms applied", "term", term)
				if s.cfg.OnLeading != nil {
					s.cfg.OnLeading()
				}
			}()
		}
	}
}

func (s *Store) notifyLeaderChanged() {
	s.leaderMu.Lock()
	close(s.leaderChanged)
	s.leaderChanged = make(chan struct{})
	s.leaderMu.Unlock()
}

// Room returns the room as this node has applied it.
func (s *Store) Room(code string) (*game.Room, bool) {
	s.fsm.mu.RLock()
	defer s.fsm.mu.RUnlock()
	return s.fsm.state.Room(code)
}

// Rooms returns every room as this node has applied them, sorted by code.
func (s *Store) Rooms() []*game.Room {
	s.fsm.mu.RLock()
	defer s.fsm.mu.RUnlock()
	return s.fsm.state.Rooms()
}

// RoomsPage returns a page of the rooms as this node has applied them, all
// at one point of the log: see game.State.RoomsPage.
func (s *Store) RoomsPage(after string, limit int, keep func(*game.Room) bool) ([]*game.Room, bool) {
	s.fsm.mu.RLock()
	defer s.fsm.mu.RUnlock()
	return s.fsm.state.RoomsPage(after, limit, keep)
}

// Subscribe returns the room's current state and a subscription to every
// change after it, with no gap between the two. buffer is how many changes
// may wait unread before the subscription is dropped with ErrLagging.
func (s *Store) Subscribe(code string, buffer int) (*game.Room, *Subscription, error) {
	s.fsm.mu.RLock()
	defer s.fsm.mu.RUnlock()
	room, ok := s.fsm.state.Room(code)
	if !ok {
		return nil, nil, fmt.Errorf("%w: %q", game.ErrUnknownRoom, code)
	}
	ch := make(chan Change, buffer)
	sub := &Subscription{C: ch, ch: ch, room: room.Code, subs: &s.fsm.subs}
	if err := s.fsm.subs.add(sub); err != nil {
		return nil, nil, err
	}
	return room, sub, nil
}

// Apply proposes cmd and waits until it is committed and applied, returning
// the FSM's result. Concurrent calls share log entries. Errors: ErrNotLeader,
// ErrLeadershipLost and ErrTimeout (retry, with the same request id), game
// errors (the command was refused and changed nothing), ErrClosed.
func (s *Store) Apply(ctx context.Context, cmd game.Command) (Result, error) {
	res, errs := s.ApplyAll(ctx, []game.Command{cmd})
	return res[0], errs[0]
}

// ApplyAll is Apply for many commands at once: they are proposed together,
// so they share log entries, and each gets its own result and error, in
// the order of cmds. A command refused by validation is not proposed.
func (s *Store) ApplyAll(ctx context.Context, cmds []game.Command) ([]Result, []error) {
	done := make(chan struct{})
	var res []Result
	var errs []error
	c, ps := s.prepare(cmds, func(r []Result, e []error) {
		res, errs = r, e
		close(done)
	})
	if c == nil {
		return res, errs // answered already: this node does not lead
	}
	ps = s.propose(ctx, c, ps)
	// An answer known already (refusals, a full queue given up) is
	// returned even if ctx has ended.
	select {
	case <-done:
		return res, errs
	default:
	}
	var unknown error
	select {
	case <-done:
		return res, errs
	case <-ctx.Done():
		unknown = fmt.Errorf("%w: outcome unknown: %w", ErrTimeout, ctx.Err())
	case <-s.closing:
		// A command proposed may still commit elsewhere.
		unknown = fmt.Errorf("%w: outcome unknown", ErrClosed)
	}
	// The refusals stand; the proposed commands' outcomes are unknown.
	// Only the refusals' places in c.errs are read: prepare wrote them and
	// nothing writes them again, while the store may be writing the others.
	gaveUp := make([]error, len(cmds))
	proposed := make([]bool, len(cmds))
	for _, p := range ps {
		proposed[p.at] = true
	}
	for i := range gaveUp {
		if gaveUp[i] = unknown; !proposed[i] {
			gaveUp[i] = c.errs[i]
		}
	}
	return make([]Result, len(cmds)), gaveUp
}

func unknownOutcomes(n int, err error) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}

// ProposeAll is ApplyAll without the wait: it queues the commands and
// returns, and answer is called exactly once, with every command's result
// and error in the order of cmds, when the last of them is known. It may
// be called before ProposeAll returns (this node does not lead, or the
// wait for a place gave up), and is otherwise called on a goroutine of
// the store's, which the answer must not hold up: it should hand its
// results on and return. ctx bounds only the wait for a place among the
// store's pending calls (maxPendingCalls), which are all taken only under
// overload; once queued, commands are proposed whatever happens to ctx,
// and answered when Raft commits them or gives up on them (or the store
// closes).
func (s *Store) ProposeAll(ctx context.Context, cmds []game.Command, answer func([]Result, []error)) {
	c, ps := s.prepare(cmds, answer)
	switch {
	case c == nil:
	case len(ps) < len(cmds):
		// Judging refusals takes a heartbeat round, on a goroutine of its
		// own: refusals are the rare case.
		go s.propose(ctx, c, ps)
	default:
		s.propose(ctx, c, ps)
	}
}

// maxPendingCalls caps the calls queued or in flight at once: beyond it,
// ProposeAll waits for earlier calls to be answered.
const maxPendingCalls = 4096

// prepare validates and encodes cmds and returns a call that will give
// answer their outcomes, and the proposals of the commands to propose. It
// answers at once, and returns a nil call, when this node does not lead.
func (s *Store) prepare(cmds []game.Command, answer func([]Result, []error)) (*call, []*proposal) {
	if !s.IsLeader() {
		answer(make([]Result, len(cmds)), unknownOutcomes(len(cmds), ErrNotLeader))
		return nil, nil
	}
	c := &call{cmds: cmds, res: make([]Result, len(cmds)), errs: make([]error, len(cmds)), answer: answer}
	return c, s.judge(c, make([]*proposal, 0, len(cmds)))
}

// propose queues ps, the proposals of c, and returns them with those of
// refused commands that turned out valid.
//
// A refusal is a read of the state, and the state it was judged on may be
// behind: a deposed leader that has not noticed yet (frozen, then thawed)
// lacks the new leader's writes, and even a leader applies what it
// committed a moment after a follower may have (a client can have seen a
// round start through a follower before the leader's state shows it). So
// before refusing, this node takes a read index, which confirms that it
// still leads, waits until its state has applied it, and judges the
// refused commands again on that state: those now valid are proposed, the
// others refused.
func (s *Store) propose(ctx context.Context, c *call, ps []*proposal) []*proposal {
	if len(ps) < len(c.errs) {
		index, err := s.ReadIndex()
		if err == nil {
			err = s.WaitApplied(ctx, index)
		}
		if err != nil {
			c.answer(c.res, unknownOutcomes(len(c.errs), err))
			return nil
		}
		ps = s.judge(c, ps)
		if len(ps) == 0 {
			c.answer(c.res, c.errs)
			return nil
		}
	}
	fail := func(err error) {
		for _, p := range ps {
			p.answer(outcome{err: err})
		}
	}
	select {
	case s.pending <- struct{}{}:
		c.slot = s.pending
	case <-ctx.Done():
		fail(fmt.Errorf("%w: %w", ErrTimeout, ctx.Err()))
		return ps
	case <-s.closing:
		fail(ErrClosed)
		return ps
	}
	if err := s.entries.queue(ps); err != nil {
		fail(err)
	}
	return ps
}

// judge validates the commands of c that ps, its proposals so far, does
// not hold, on the state as it is now, and returns ps with a proposal for
// each that is valid; the others keep their refusal in c.errs. prepare
// judges every command, propose judges the refused ones again. Nothing of
// c is queued yet, so its count of outcomes to come can still change.
func (s *Store) judge(c *call, ps []*proposal) []*proposal {
	proposed := make([]bool, len(c.cmds))
	for _, p := range ps {
		proposed[p.at] = true
	}
	s.fsm.mu.RLock()
	for i, cmd := range c.cmds {
		if !proposed[i] {
			c.errs[i] = s.fsm.state.Validate(cmd)
		}
	}
	s.fsm.mu.RUnlock()
	for i, cmd := range c.cmds {
		if proposed[i] || c.errs[i] != nil {
			continue
		}
		enc, err := encodeCommand(cmd)
		if err != nil {
			c.errs[i] = err
			continue
		}
		ps = append(ps, &proposal{enc: enc, call: c, at: i})
	}
	c.left.Store(int64(len(ps)))
	return ps
}

// applyTimeout bounds the wait of an entry for Raft's main loop to take it.
const applyTimeout = 10 * time.Second

// proposeEntries hands the entries the store opens to Raft, one by one:
// each waits in raft.Apply until Raft's main loop takes it, which is
// right after the write in progress. A goroutine per entry then answers
// its commands.
func (s *Store) proposeEntries() {
	defer s.wg.Done()
	for {
		select {
		case <-s.entries.wake:
		case <-s.closing:
			return
		}
		for _, oe := range s.entries.toPropose() {
			f := s.raft.Apply(oe.data, applyTimeout)
			s.unansweredMu.Lock()
			s.unanswered[oe] = struct{}{}
			s.unansweredMu.Unlock()
			go s.finish(f, oe)
		}
	}
}

// claim takes the answering of oe, handed to Raft, for its caller; false
// when Close has answered it already.
func (s *Store) claim(oe *openEntry) bool {
	s.unansweredMu.Lock()
	defer s.unansweredMu.Unlock()
	if _, ok := s.unanswered[oe]; !ok {
		return false
	}
	delete(s.unanswered, oe)
	s.answering.Add(1)
	return true
}

// finish answers the commands of oe once Raft has applied it or given up
// on it. If Raft shuts down with oe committed but not applied, it never
// answers (hashicorp/raft#498): this goroutine then waits for good, and
// Close answers oe's commands.
func (s *Store) finish(f raft.ApplyFuture, oe *openEntry) {
	err := f.Error()
	if !s.claim(oe) {
		return
	}
	defer s.answering.Done()
	if err != nil {
		ps := s.entries.failed(oe)
		err = raftError(err)
		for _, p := range ps {
			p.answer(outcome{err: err})
		}
		return
	}
	batch := oe.batch
	results, ok := f.Response().([]applied)
	if !ok || len(results) != len(batch) {
		err := fmt.Errorf("store: log entry %d: unexpected apply response %T", f.Index(), f.Response())
		if e, isErr := f.Response().(error); isErr {
			err = e
		}
		for _, p := range batch {
			p.answer(outcome{err: err})
		}
		return
	}
	for i, p := range batch {
		p.answer(outcome{res: Result{Result: results[i].res, Index: f.Index()}, err: results[i].err})
	}
}

// Stats is this node's Raft state.
type Stats struct {
	// ID is this node's id.
	ID string
	// State is Raft's role: Follower, Candidate, Leader or Shutdown.
	State string
	// Term is the current Raft term.
	Term uint64
	// LastIndex is the index of the last entry in this node's log.
	LastIndex uint64
	// CommitIndex is the index of the last entry this node knows committed.
	CommitIndex uint64
	// AppliedIndex is the index of the last game command the state
	// machine applied, or of the snapshot it restored since. Raft's own
	// entries (configuration changes, barriers, no-ops) do not move it,
	// so it may stay below CommitIndex until the next command.
	AppliedIndex uint64
	// RaftAppliedIndex is Raft's own applied index, which also counts the
	// entries the state machine never sees.
	RaftAppliedIndex uint64
	// LeaderID is the leader this node knows of, or "".
	LeaderID string
}

// Stats returns this node's Raft state now.
func (s *Store) Stats() Stats {
	id, _ := s.Leader()
	return Stats{
		ID:               s.cfg.ID,
		State:            s.raft.State().String(),
		Term:             s.raft.CurrentTerm(),
		LastIndex:        s.raft.LastIndex(),
		CommitIndex:      s.raft.CommitIndex(),
		AppliedIndex:     s.fsm.applied.Load(),
		RaftAppliedIndex: s.raft.AppliedIndex(),
		LeaderID:         id,
	}
}

// IsVoter reports whether id is a voter in the latest Raft configuration.
func (s *Store) IsVoter(id string) (bool, error) {
	ids, err := s.Voters()
	if err != nil {
		return false, err
	}
	return slices.Contains(ids, id), nil
}

// Voters lists the ids of the voters in the latest Raft configuration, in
// the configuration's order.
func (s *Store) Voters() ([]string, error) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, raftError(err)
	}
	var ids []string
	for _, srv := range f.Configuration().Servers {
		if srv.Suffrage == raft.Voter {
			ids = append(ids, string(srv.ID))
		}
	}
	return ids, nil
}

// LastSnapshotIndex is the index of the last snapshot this node took or
// installed, 0 if none. It asks Raft for all its statistics, so it is
// not for a hot path.
func (s *Store) LastSnapshotIndex() uint64 {
	n, _ := strconv.ParseUint(s.raft.Stats()["last_snapshot_index"], 10, 64)
	return n
}

// TransferLeadership hands leadership to another voter if this node leads.
func (s *Store) TransferLeadership() error {
	if !s.IsLeader() {
		return nil
	}
	if err := s.raft.LeadershipTransfer().Error(); err != nil {
		return fmt.Errorf("store: transfer leadership: %w", raftError(err))
	}
	return nil
}

// Snapshot takes a snapshot now.
func (s *Store) Snapshot() error {
	if err := s.raft.Snapshot().Error(); err != nil {
		return fmt.Errorf("store: snapshot: %w", err)
	}
	return nil
}

// Close shuts Raft down and closes the log. Pending writes fail with
// ErrClosed (or ErrLeadershipLost if they were in flight); subscriptions end
// with ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		// Shutting Raft down first resolves every future, and returns the
		// proposer from raft.Apply.
		shutdownErr := s.raft.Shutdown().Error()
		s.wg.Wait()
		// No more entries are handed to Raft, and Raft has answered all it
		// ever will: an entry unanswered now was committed and not applied,
		// or Raft stopped before writing it. Its commands' outcome is
		// unknown, and what is still queued will never be proposed.
		s.unansweredMu.Lock()
		left := s.unanswered
		s.unanswered = nil
		s.unansweredMu.Unlock()
		for oe := range left {
			for _, p := range s.entries.failed(oe) {
				p.answer(outcome{err: fmt.Errorf("%w: outcome unknown", ErrClosed)})
			}
		}
		for _, p := range s.entries.close() {
			p.answer(outcome{err: ErrClosed})
		}
		s.answering.Wait()
		s.raft.DeregisterObserver(s.observer)
		s.fsm.subs.closeAll(ErrClosed)
		s.closeErr = errors.Join(shutdownErr, s.transport.Close(), s.closeWAL())
		if s.closeErr != nil {
			s.closeErr = fmt.Errorf("store: close: %w", s.closeErr)
		}
	})
	return s.closeErr
}
