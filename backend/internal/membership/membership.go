// Package membership discovers the backend nodes of the gallows Raft cluster
// with hashicorp/serf and reconciles serf membership into the Raft
// configuration.
//
// Every backend runs a Membership next to its Raft node. Backends gossip
// their addresses and state as serf tags (see Tags). A fresh cluster forms
// by bootstrap-expect: once a node without Raft state has seen the expected
// number of fresh backends for a moment, it bootstraps Raft with exactly
// those nodes (every node computes the same configuration). From then on
// only the Raft leader changes the configuration: it adds alive backends as
// voters, removes backends that left gracefully, and removes failed backends
// only after a long grace period, never dropping below bootstrap-expect
// voters and never removing itself.
//
// Wiring: create the Raft node first, then New with HasState from
// raft.HasExistingState. On SIGTERM call Leave, then Shutdown, then shut
// Raft down.
package membership

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/hashicorp/serf/serf"

	"github.com/gallows-game/gallows/internal/slogbridge"
)

// ErrInvalidConfig is returned (wrapped) by New when the Config is unusable.
var ErrInvalidConfig = errors.New("membership: invalid config")

const (
	defaultReconcileInterval = 5 * time.Second
	defaultFailedGrace       = time.Hour

	// eventBuffer is the capacity of the serf event channel; the event
	// loop only signals the reconcile loop, so it drains quickly.
	eventBuffer = 256

	// joinRetryInterval is the base delay between background join
	// attempts; up to half of it is added as jitter.
	joinRetryInterval = 500 * time.Millisecond
	// joinWarnEvery is how many failed join attempts pass between two
	// log lines: the first failure is logged at info (backends started
	// together find each other a moment apart), the later ones, every
	// joinWarnEvery attempts (about 10 s), as warnings.
	joinWarnEvery = 20
	// healJoinInterval is the base delay between two joins of the Join
	// addresses, once joined, while a member is failed (see joinLoop).
	healJoinInterval = 2 * time.Second

	// raftTimeout bounds how long a Raft operation may wait to be enqueued.
	raftTimeout = 10 * time.Second

	// bootstrapSettle is how long the set of alive fresh backends must stay
	// the same before this node bootstraps with it. It covers the moments
	// when a joining node has merged only part of the cluster's state, or
	// has not yet received the Bootstrapped tag of members that already
	// belong to a cluster.
	bootstrapSettle = time.Second
)

// Raft is the part of *raft.Raft that membership needs. The node hands in
// its store's (store.Open returns it); tests use a real one too.
type Raft interface {
	State() raft.RaftState
	GetConfiguration() raft.ConfigurationFuture
	AddVoter(id raft.ServerID, address raft.ServerAddress, prevIndex uint64, timeout time.Duration) raft.IndexFuture
	RemoveServer(id raft.ServerID, prevIndex uint64, timeout time.Duration) raft.IndexFuture
	BootstrapCluster(configuration raft.Configuration) raft.Future
	Barrier(timeout time.Duration) raft.Future
	LeaderWithID() (raft.ServerAddress, raft.ServerID)
}

var _ Raft = (*raft.Raft)(nil)

// Config configures a Membership.
type Config struct {
	// Tags are this node's tags. New overrides Tags.Expect with
	// BootstrapExpect and Tags.Bootstrapped with HasState.
	Tags Tags
	// BindAddr is the ip:port serf listens on (TCP and UDP). The host must
	// be an IP literal (0.0.0.0 for all interfaces). Port 0 lets memberlist
	// pick a port free for both protocols (it retries if one is taken in
	// between); LocalMember reports the port it got.
	BindAddr string
	// AdvertiseAddr is the optional ip:port other nodes use to reach this
	// node's serf; empty means the bound address (or, when bound to
	// 0.0.0.0, a private IP of this host) with the bind port.
	AdvertiseAddr string
	// Join lists serf addresses (host:port) of other nodes. New retries
	// joining them in the background until this node knows another member,
	// so nodes may start in any order, and joins them again every few
	// seconds while a member is failed. The list may include this node.
	Join []string
	// BootstrapExpect is the number of voters a fresh cluster bootstraps
	// with, and the floor below which the leader never removes voters.
	// 0 means never bootstrap automatically.
	BootstrapExpect int
	// HasState reports raft.HasExistingState for this node: a node with
	// state never bootstraps.
	HasState bool
	// Raft is this node's Raft; required.
	Raft Raft
	// Network, when set, carries gossip instead of memberlist's own TCP
	// and UDP sockets; BindAddr is then where it listens.
	Network Network
	// Logger receives membership, serf and memberlist logs; nil means
	// slog.Default().
	Logger *slog.Logger
	// ReconcileInterval is the period of full reconcile passes, which heal
	// dropped serf events; 0 means 5s.
	ReconcileInterval time.Duration
	// FailedGrace is how long a backend must stay failed (or absent from
	// serf) before the leader removes it from Raft; 0 means 1h.
	FailedGrace time.Duration
	// GossipKey, when set, encrypts and authenticates every gossip message
	// (AES-GCM; 16, 24 or 32 bytes): members without a key of the keyring
	// can neither join nor read. It seeds the keyring on the first start;
	// from then on KeyringFile holds the keys, rotations included.
	GossipKey []byte
	// OnUserEvent, if set, receives the payload of every serf user event
	// of the given name (see UserEvent), from the event loop: it must not
	// block.
	OnUserEvent func(name string, payload []byte)
	// KeyringFile is where the keyring is kept (serf writes it on every
	// install, use or remove). When it exists it wins over GossipKey, as
	// the key may have been rotated since. Required with GossipKey.
	KeyringFile string
}

// withDefaults validates c and fills in its defaults.
func (c Config) withDefaults() (Config, error) {
	if c.BootstrapExpect < 0 {
		return c, fmt.Errorf("%w: BootstrapExpect %d is negative", ErrInvalidConfig, c.BootstrapExpect)
	}
	c.Tags.Expect = c.BootstrapExpect
	c.Tags.Bootstrapped = c.HasState
	if _, err := ParseTags(c.Tags.Map()); err != nil {
		return c, fmt.Errorf("%w: tags: %w", ErrInvalidConfig, err)
	}
	if err := checkBindAddr(c.BindAddr); err != nil {
		return c, fmt.Errorf("%w: BindAddr %q: %w", ErrInvalidConfig, c.BindAddr, err)
	}
	if c.AdvertiseAddr != "" {
		if err := checkIPPort(c.AdvertiseAddr); err != nil {
			return c, fmt.Errorf("%w: AdvertiseAddr %q: %w", ErrInvalidConfig, c.AdvertiseAddr, err)
		}
	}
	for _, addr := range c.Join {
		if err := checkHostPort(addr); err != nil {
			return c, fmt.Errorf("%w: Join address %q: %w", ErrInvalidConfig, addr, err)
		}
	}
	if c.Raft == nil {
		return c, fmt.Errorf("%w: Raft is nil", ErrInvalidConfig)
	}
	if c.ReconcileInterval < 0 {
		return c, fmt.Errorf("%w: ReconcileInterval %v is negative", ErrInvalidConfig, c.ReconcileInterval)
	}
	if c.FailedGrace < 0 {
		return c, fmt.Errorf("%w: FailedGrace %v is negative", ErrInvalidConfig, c.FailedGrace)
	}
	if len(c.GossipKey) > 0 {
		switch len(c.GossipKey) {
		case 16, 24, 32:
		default:
			return c, fmt.Errorf("%w: gossip key of %d bytes: want 16, 24 or 32", ErrInvalidConfig, len(c.GossipKey))
		}
		if c.KeyringFile == "" {
			return c, fmt.Errorf("%w: a gossip key needs a keyring file", ErrInvalidConfig)
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ReconcileInterval == 0 {
		c.ReconcileInterval = defaultReconcileInterval
	}
	if c.FailedGrace == 0 {
		c.FailedGrace = defaultFailedGrace
	}
	return c, nil
}

// checkIPPort validates an ip:port address for serf, whose memberlist needs
// an IP literal and a fixed port.
func checkIPPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if net.ParseIP(host) == nil {
		return fmt.Errorf("host %q is not an IP address", host)
	}
	return checkPort(port)
}

// CheckBindAddr reports whether serf can listen on addr: an IP literal and
// a port (0 for any).
func CheckBindAddr(addr string) error { return checkBindAddr(addr) }

// CheckJoinAddr reports whether addr, a member to join, is host:port.
func CheckJoinAddr(addr string) error { return checkHostPort(addr) }

// checkBindAddr is checkIPPort, with port 0 allowed.
func checkBindAddr(addr string) error {
	if host, port, err := net.SplitHostPort(addr); err == nil && port == "0" {
		if net.ParseIP(host) == nil {
			return fmt.Errorf("host %q is not an IP address", host)
		}
		return nil
	}
	return checkIPPort(addr)
}

// splitIPPort splits an address that checkIPPort accepted.
func splitIPPort(addr string) (string, int) {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	return host, p
}

// Member is one backend as serf sees it.
type Member struct {
	Tags
	// SerfAddr is the ip:port of the member's serf.
	SerfAddr string
	// Status is the serf status in lower case: "alive", "leaving", "left",
	// "failed" or "none".
	Status string
}

// Serf member statuses as they appear in Member.Status.
var (
	statusAlive  = serf.StatusAlive.String()
	statusLeft   = serf.StatusLeft.String()
	statusFailed = serf.StatusFailed.String()
)

// memberFromSerf converts a serf member, failing for members that are not
// gallows backends or whose tags are invalid.
func memberFromSerf(sm serf.Member) (Member, error) {
	t, err := ParseTags(sm.Tags)
	if err != nil {
		return Member{}, err
	}
	if t.ID != sm.Name {
		return Member{}, fmt.Errorf("%w: id %q differs from serf node name %q", ErrInvalidTags, t.ID, sm.Name)
	}
	return Member{Tags: t, SerfAddr: serfAddr(sm), Status: sm.Status.String()}, nil
}

func serfAddr(sm serf.Member) string {
	return net.JoinHostPort(sm.Addr.String(), strconv.Itoa(int(sm.Port)))
}

// Membership runs serf for one backend and reconciles serf membership into
// Raft. Create it with New and stop it with Shutdown.
type Membership struct {
	cfg    Config
	logger *slog.Logger
	serf   *serf.Serf

	eventCh     chan serf.Event
	reconcileCh chan struct{}
	passes      atomic.Int64   // reconcile passes done, for tests to wait on
	stopCh      chan struct{}  // closed by Shutdown to stop the reconcile and join loops
	loops       sync.WaitGroup // the reconcile and join loops
	serfDown    chan struct{}  // closed by Shutdown once serf is down, to stop the event loop
	eventsDone  chan struct{}  // closed when the event loop returns

	shutdownOnce sync.Once
	shutdownErr  error

	tagsMu sync.Mutex
	tags   Tags // this node's tags as last gossiped

	// The fields below belong to the reconcile loop goroutine.

	// wasLeader reports that the previous pass ran as leader, after a
	// successful barrier.
	wasLeader bool
	// down tracks servers of the Raft configuration that are not alive in
	// serf, by ID, while this node is leader.
	down map[string]*downServer
	// lastBootstrapNote is the last bootstrap wait reason logged, so
	// each reason is logged once rather than on every pass.
	lastBootstrapNote string
	// bootstrapView lists the alive backends as a bootstrap would see them,
	// unchanged since bootstrapViewSince; settleTimer requests a pass once
	// that view has been stable for bootstrapSettle.
	bootstrapView      string
	bootstrapViewSince time.Time
	settleTimer        *time.Timer
}

// downServer is a Raft server that serf reports as failed, left or absent.
type downServer struct {
	since time.Time // first pass that saw it down
	kept  bool      // its removal was refused at the voter floor (logged)
}

// New validates cfg, creates serf and starts the event loop, the background
// join and the reconcile loop. Create the Raft node first and set HasState
// from raft.HasExistingState.
func New(cfg Config) (*Membership, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m := &Membership{
		cfg:         cfg,
		logger:      cfg.Logger.With("component", "membership", "node", cfg.Tags.ID),
		eventCh:     make(chan serf.Event, eventBuffer),
		reconcileCh: make(chan struct{}, 1),
		stopCh:      make(chan struct{}),
		serfDown:    make(chan struct{}),
		eventsDone:  make(chan struct{}),
		tags:        cfg.Tags,
		down:        make(map[string]*downServer),
	}
	sc := m.serfConfig()
	if len(cfg.GossipKey) > 0 {
		kr, err := loadKeyring(cfg.KeyringFile, cfg.GossipKey)
		if err != nil {
			return nil, err
		}
		sc.KeyringFile = cfg.KeyringFile
		sc.MemberlistConfig.Keyring = kr
		sc.MemberlistConfig.GossipVerifyIncoming = true
		sc.MemberlistConfig.GossipVerifyOutgoing = true
	}
	if cfg.Network != nil {
		t, err := newTransport(cfg.Network, cfg.BindAddr)
		if err != nil {
			return nil, err
		}
		sc.MemberlistConfig.Transport = t
	}
	if m.serf, err = serf.Create(sc); err != nil {
		if t, ok := sc.MemberlistConfig.Transport.(*transport); ok {
			_ = t.Shutdown()
		}
		return nil, fmt.Errorf("membership: create serf on %s: %w", cfg.BindAddr, err)
	}
	m.logger.Info("serf started", "bind", cfg.BindAddr, "bootstrap_expect", cfg.BootstrapExpect,
		"has_state", cfg.HasState)

	go m.eventLoop()
	m.loops.Add(1)
	go m.reconcileLoop()
	if len(cfg.Join) > 0 {
		m.loops.Add(1)
		go m.joinLoop()
	}
	return m, nil
}

// serfConfig builds the serf configuration: memberlist's LAN defaults tuned
// for quick failure detection (a failed status is only informational for
// Raft, since failed servers are removed after FailedGrace only).
func (m *Membership) serfConfig() *serf.Config {
	sc := serf.DefaultConfig()
	sc.NodeName = m.cfg.Tags.ID
	sc.Tags = m.cfg.Tags.Map()
	sc.EventCh = m.eventCh
	sc.LogOutput = nil
	sc.Logger = slogbridge.StdLog(m.cfg.Logger, "serf")

	// Memberlist stops probing a member it found dead; only serf's reconnect
	// attempts bring it back once the network heals, by default every 30 s.
	// A healed partition should show in the cluster panel within seconds.
	sc.ReconnectInterval = time.Second
	// Scores travel as user events (see UserEvent); the default limit is
	// 512 bytes, and one must fit in a gossip packet with serf's and
	// memberlist's framing (scores.MaxEventSize).
	sc.UserEventSizeLimit = 1024

	ml := sc.MemberlistConfig
	ml.LogOutput = nil
	ml.Logger = slogbridge.StdLog(m.cfg.Logger, "memberlist")
	ml.BindAddr, ml.BindPort = splitIPPort(m.cfg.BindAddr)
	ml.AdvertisePort = ml.BindPort
	if m.cfg.AdvertiseAddr != "" {
		ml.AdvertiseAddr, ml.AdvertisePort = splitIPPort(m.cfg.AdvertiseAddr)
	}
	ml.ProbeInterval = 500 * time.Millisecond
	ml.ProbeTimeout = 250 * time.Millisecond
	ml.SuspicionMult = 3
	// Gossip rounds carry broadcasts (member changes, score deltas) only
	// when there are some, so a short interval costs nothing at rest and
	// brings a score to every node of ten in well under half a second.
	ml.GossipInterval = 50 * time.Millisecond
	ml.GossipNodes = 4
	// Bounds a join or state sync with one member; the default (10 s) is
	// for WANs, and a join to a member that is gone would hold up Shutdown.
	ml.TCPTimeout = 2 * time.Second
	// A member memberlist found dead may come back at another address (a
	// restarted container gets a new IP). Without a reclaim time it is
	// refused as a name conflict until its dead entry is dropped, which
	// took about 18 s in the chaos test.
	ml.DeadNodeReclaimTime = 2 * time.Second
	return sc
}

// Members returns the gallows backends serf knows, in any status, sorted by
// ID. Foreign serf members and members with invalid tags are left out.
func (m *Membership) Members() []Member {
	sms := m.serf.Members()
	out := make([]Member, 0, len(sms))
	for _, sm := range sms {
		mem, err := memberFromSerf(sm)
		if err != nil {
			if !errors.Is(err, ErrNotBackend) {
				m.logger.Debug("ignoring serf member with invalid tags", "serf_node", sm.Name, "err", err)
			}
			continue
		}
		out = append(out, mem)
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Member returns the backend with the given Raft server ID, if serf knows it.
func (m *Membership) Member(id string) (Member, bool) {
	for _, mem := range m.Members() {
		if mem.ID == id {
			return mem, true
		}
	}
	return Member{}, false
}

// LocalMember returns this node as serf sees it, with its current tags.
func (m *Membership) LocalMember() Member {
	sm := m.serf.LocalMember()
	return Member{Tags: m.localTags(), SerfAddr: serfAddr(sm), Status: sm.Status.String()}
}

// UserEvent sends payload to every member as the serf user event name,
// by gossip, under the gossip key. Name and payload are at most 1 KiB.
func (m *Membership) UserEvent(name string, payload []byte) error {
	if err := m.serf.UserEvent(name, payload, false); err != nil {
		return fmt.Errorf("membership: user event %s: %w", name, err)
	}
	return nil
}

// Reconcile requests a reconcile pass without blocking; requests made while
// one is pending are merged. The store may call it when leadership changes.
func (m *Membership) Reconcile() {
	select {
	case m.reconcileCh <- struct{}{}:
	default:
	}
}

// Leave gracefully leaves the serf cluster: the others see this node as
// "left" and the leader removes it from Raft. Call it on SIGTERM, before
// Shutdown. It blocks for about a second while the leave propagates.
func (m *Membership) Leave() error {
	m.logger.Info("leaving serf cluster")
	if err := m.serf.Leave(); err != nil {
		return fmt.Errorf("membership: serf leave: %w", err)
	}
	return nil
}

// Shutdown stops the loops and serf without leaving (the others see this
// node as failed unless Leave was called first). It waits for a reconcile
// pass in progress, so call it before shutting down Raft. It is idempotent.
func (m *Membership) Shutdown() error {
	m.shutdownOnce.Do(func() {
		close(m.stopCh)
		m.loops.Wait()
		if m.settleTimer != nil {
			m.settleTimer.Stop()
		}
		if err := m.serf.Shutdown(); err != nil {
			m.shutdownErr = fmt.Errorf("membership: serf shutdown: %w", err)
		}
		close(m.serfDown)
		<-m.eventsDone
		m.logger.Info("membership stopped")
	})
	return m.shutdownErr
}

func (m *Membership) localTags() Tags {
	m.tagsMu.Lock()
	defer m.tagsMu.Unlock()
	return m.tags
}

// eventLoop turns serf member events into reconcile requests. It never
// blocks serf: the work happens in the reconcile loop.
// It runs until serf is down, so serf never blocks on a full channel.
func (m *Membership) eventLoop() {
	defer close(m.eventsDone)
	for {
		select {
		case e := <-m.eventCh:
			switch e := e.(type) {
			case serf.MemberEvent:
				m.Reconcile()
			case serf.UserEvent:
				if m.cfg.OnUserEvent != nil {
					m.cfg.OnUserEvent(e.Name, e.Payload)
				}
			}
		case <-m.serfDown:
			return
		}
	}
}

// reconcileLoop runs a pass at start, on every request and every
// ReconcileInterval.
func (m *Membership) reconcileLoop() {
	defer m.loops.Done()
	ticker := time.NewTicker(m.cfg.ReconcileInterval)
	defer ticker.Stop()
	for {
		m.pass()
		select {
		case <-m.stopCh:
			return
		case <-ticker.C:
		case <-m.reconcileCh:
		}
	}
}

// joinLoop retries joining cfg.Join until this node knows another member
// (joining only itself does not count), Leave or Shutdown. After that it
// joins cfg.Join again every few seconds while serf counts a member failed:
// serf's own reconnects go to the address a failed member had, and a member
// that came back elsewhere (a restarted container with a new IP, behind the
// same name) is found through the names in Join. Joining members already
// known only syncs state.
func (m *Membership) joinLoop() {
	defer m.loops.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	joined := false
	for attempt := 1; ; attempt++ {
		select {
		case <-m.stopCh:
			return
		case <-timer.C:
		}
		if m.serf.State() != serf.SerfAlive {
			return
		}
		if joined {
			if failed := m.failedMembers(); len(failed) > 0 {
				n, err := m.serf.Join(m.cfg.Join, true)
				m.logger.Debug("joined again while members are failed", "failed", failed, "contacted", n, "err", err)
			}
			timer.Reset(healJoinInterval + rand.N(healJoinInterval/2))
			continue
		}
		n, err := m.serf.Join(m.cfg.Join, true)
		if n > 0 && m.serf.NumNodes() > 1 {
			m.logger.Info("joined serf cluster", "contacted", n, "attempts", attempt)
			joined = true
			timer.Reset(healJoinInterval)
			continue
		}
		if attempt == 1 || attempt%joinWarnEvery == 0 {
			if err == nil {
				err = errors.New("no other member reached")
			}
			// Backends started together reach each other a moment
			// apart: a first failure is expected; one that lasts is not.
			level := slog.LevelInfo
			if attempt >= joinWarnEvery {
				level = slog.LevelWarn
			}
			m.logger.Log(context.Background(), level, "serf join failed, retrying", "addrs", m.cfg.Join, "attempts", attempt, "err", err)
		}
		timer.Reset(joinRetryInterval + rand.N(joinRetryInterval/2))
	}
}

// failedMembers lists the names of the serf members serf counts failed.
func (m *Membership) failedMembers() []string {
	var out []string
	for _, sm := range m.serf.Members() {
		if sm.Status == serf.StatusFailed {
			out = append(out, sm.Name)
		}
	}
	return out
}
