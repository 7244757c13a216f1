// Package localcluster runs a whole Gallows system in one process: N
// backend nodes (real Raft, serf, gRPC and admin HTTP) that bootstrap one
// cluster, and M frontends in front of them, on loopback ports or on a
// fault network (internal/faultnet), with their data under one directory.
//
// It is the one starter of such systems: tests use it through StartT,
// gallows dev and the benchmark through Start. Besides starting and
// stopping, it kills, stops and restarts backends by id, waits for an
// agreed leader (Leader) and for an index applied everywhere
// (AppliedEverywhere), and gives the addresses clients need (GRPCAddrs,
// GameClientConfig, URLs). Every wait polls a condition against a
// deadline (Poll); none sleeps and hopes.
package localcluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gallows-game/gallows/backend"
	"github.com/gallows-game/gallows/frontend"
	"github.com/gallows-game/gallows/gameclient"
	"github.com/gallows-game/gallows/internal/faultnet"
	"github.com/gallows-game/gallows/internal/pki"
)

// Port layout of Config.BasePort: the offset of each kind of port from the
// base, to which a backend adds its position (0 to maxFixedBackends-1).
const (
	raftPortOffset   = 0
	serfPortOffset   = 10
	grpcPortOffset   = 20
	httpPortOffset   = 30
	maxFixedBackends = 10
)

// Config describes a system to start.
type Config struct {
	// Backends is the number of backend nodes, b1 to bN; at least 1. They
	// bootstrap one cluster once all of them see each other.
	Backends int
	// Frontends is the number of frontends, f1 to fM. Each is given the
	// gRPC address of every backend.
	Frontends int
	// Dir holds the backends' data, in Dir/b1, Dir/b2, ...; required.
	Dir string
	// BasePort, when set, gives the backends fixed loopback ports, for a
	// system a person connects to: backend i (from 0) takes BasePort+i
	// for Raft, BasePort+10+i for serf, BasePort+20+i for gRPC and
	// BasePort+30+i for admin HTTP, so at most 10 backends. Each backend
	// then joins all the others. 0: free ports picked when each backend
	// starts; a backend joins those started before it. Either way a
	// restarted backend gets its ports back.
	BasePort int
	// FrontendAddrs are the HTTP addresses of the frontends, in order; a
	// frontend without one listens on a free loopback port.
	FrontendAddrs []string
	// Network, when set, carries the backends' Raft, serf and gRPC traffic
	// and the frontends' connections to the backends: backend id is
	// Network.Host(id), frontend id dials from Network.Host(id). nil: TCP.
	Network *faultnet.Network
	// Backend, when set, changes each backend's configuration before the
	// backend first starts.
	Backend func(*backend.Config)
	// Frontend, when set, changes each frontend's configuration before the
	// frontend starts (e.g. its Limits: a test that drives many requests
	// from 127.0.0.1 raises them).
	Frontend func(*frontend.Config)
	// SessionKey is the key every frontend signs its players' sessions
	// with, so that a session one frontend issued works on all of them.
	// Empty: a random key of 32 bytes, made at Start (see
	// Cluster.SessionKey).
	SessionKey []byte
	// Logger receives every node's logs (default slog.Default()).
	Logger *slog.Logger
	// Insecure runs the system as --insecure does: plaintext Raft and gRPC,
	// open gossip. By default it runs secured, with a CA, certificates and
	// keys created in Dir/certs (kept, and reused, across Starts on one Dir).
	Insecure bool
	// Faults gives every frontend the cluster panel's fault buttons
	// (frontend.Config.Faults), which act on this cluster: kill and
	// restart backends (Kill, Restart), and freeze them or cut them off on
	// Network, which must then be set (see Cluster.Faults).
	Faults bool
}

func (c Config) validate() error {
	switch {
	case c.Backends < 1:
		return fmt.Errorf("localcluster: %d backends: want at least 1", c.Backends)
	case c.Frontends < 0:
		return fmt.Errorf("localcluster: %d frontends: want 0 or more", c.Frontends)
	case c.Dir == "":
		return errors.New("localcluster: Dir is required")
	case c.BasePort > 0 && c.Backends > maxFixedBackends:
		return fmt.Errorf("localcluster: %d backends on fixed ports: want at most %d", c.Backends, maxFixedBackends)
	case c.BasePort < 0 || c.BasePort > 0 && c.BasePort+httpPortOffset+c.Backends-1 > 65535:
		return fmt.Errorf("localcluster: base port %d: want 1 to %d for %d backends", c.BasePort, 65535-httpPortOffset-c.Backends+1, c.Backends)
	case len(c.FrontendAddrs) > c.Frontends:
		return fmt.Errorf("localcluster: %d frontend addresses for %d frontends", len(c.FrontendAddrs), c.Frontends)
	case c.Faults && c.Network == nil:
		return errors.New("localcluster: Faults needs a Network (faultnet) to freeze and cut off backends on")
	}
	return nil
}

// Cluster is a running system: its backends by id and its frontends. Its
// methods are safe for concurrent use.
type Cluster struct {
	cfg Config
	log *slog.Logger
	ids []string // every backend id, in order

	// certs are the files of the system's CA, certificates and keys, and
	// backendTLS, frontendTLS and gossipKey what they hold (all empty when
	// Insecure).
	certs       pki.DevFiles
	backendTLS  *pki.Material
	frontendTLS *pki.Material
	gossipKey   []byte

	faults *faults // the fault buttons' actions, when Config.Faults

	mu        sync.Mutex
	nodes     map[string]*backend.Node  // running backends by id
	configs   map[string]backend.Config // every backend's configuration, its ports resolved
	frontends []*frontend.Server
}

// Start starts cfg.Backends backends, waits until they agree on a leader,
// then starts cfg.Frontends frontends and waits until each knows the
// leader. ctx bounds the waits. On failure it stops what it started.
func Start(ctx context.Context, cfg Config) (_ *Cluster, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Cluster{cfg: cfg, log: cfg.Logger, nodes: map[string]*backend.Node{}, configs: map[string]backend.Config{}}
	if cfg.Faults {
		c.faults = &faults{c: c, timers: map[string]*time.Timer{}}
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.Close())
		}
	}()
	if !cfg.Insecure {
		if err := c.secure(); err != nil {
			return nil, err
		}
	}
	for i := range cfg.Backends {
		c.ids = append(c.ids, "b"+strconv.Itoa(i+1))
	}
	if len(c.cfg.SessionKey) == 0 {
		c.cfg.SessionKey = make([]byte, 32)
		_, _ = rand.Read(c.cfg.SessionKey) // never fails (crypto/rand)
	}
	for i, id := range c.ids {
		if _, err := c.start(c.backendConfig(i, id)); err != nil {
			return nil, err
		}
	}
	if _, err := c.Leader(ctx); err != nil {
		return nil, err
	}
	grpcAddrs := c.GRPCAddrs()
	for i := range cfg.Frontends {
		fc := frontend.Config{ID: "f" + strconv.Itoa(i+1), HTTPAddr: "127.0.0.1:0", Backends: grpcAddrs, Logger: c.log}
		if i < len(cfg.FrontendAddrs) {
			fc.HTTPAddr = cfg.FrontendAddrs[i]
		}
		if cfg.Network != nil {
			fc.Dial = cfg.Network.Host(fc.ID).Dial
		}
		fc.SessionKey = c.cfg.SessionKey
		fc.TLS, fc.Insecure = c.frontendTLS, cfg.Insecure
		if c.faults != nil {
			fc.Faults = c.faults
		}
		if cfg.Frontend != nil {
			cfg.Frontend(&fc)
		}
		fe, err := frontend.Start(fc)
		if err != nil {
			return nil, fmt.Errorf("localcluster: start frontend %s: %w", fc.ID, err)
		}
		c.mu.Lock()
		c.frontends = append(c.frontends, fe)
		c.mu.Unlock()
	}
	if err := Poll(ctx, "every frontend to know the leader", c.frontendsReady); err != nil {
		return nil, err
	}
	return c, nil
}

// secure creates (or finds) the system's CA, certificates and keys in
// Dir/certs and loads them.
func (c *Cluster) secure() error {
	files, err := pki.CreateDev(filepath.Join(c.cfg.Dir, "certs"))
	if err != nil {
		return fmt.Errorf("localcluster: %w", err)
	}
	if c.backendTLS, err = pki.Load(files.CA, files.BackendCert, files.BackendKey); err != nil {
		return fmt.Errorf("localcluster: %w", err)
	}
	if c.frontendTLS, err = pki.Load(files.CA, files.FrontendCert, files.FrontendKey); err != nil {
		return fmt.Errorf("localcluster: %w", err)
	}
	if c.gossipKey, err = pki.ReadGossipKeyFile(files.GossipKey); err != nil {
		return fmt.Errorf("localcluster: %w", err)
	}
	c.certs = files
	return nil
}

// Certs are the files of the system's CA, certificates and keys (empty
// when Insecure): tests make clients, and forge outsiders, from them.
func (c *Cluster) Certs() pki.DevFiles { return c.certs }

// ClientTLS is the TLS configuration of a client that presents the
// certificate of role (a frontend's, or a backend's for node-only calls)
// to the backends; nil when Insecure.
func (c *Cluster) ClientTLS(role pki.Role) *tls.Config {
	m := c.frontendTLS
	if role == pki.RoleBackend {
		m = c.backendTLS
	}
	if m == nil {
		return nil
	}
	return m.ClientConfig(pki.RoleBackend)
}

// backendConfig is the configuration backend id, the i-th, first starts with.
func (c *Cluster) backendConfig(i int, id string) backend.Config {
	bc := backend.Config{
		ID: id, DataDir: filepath.Join(c.cfg.Dir, id),
		RaftAddr: "127.0.0.1:0", SerfAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		BootstrapExpect: c.cfg.Backends, Logger: c.log,
		TLS: c.backendTLS, GossipKey: c.gossipKey, Insecure: c.cfg.Insecure,
	}
	if c.cfg.BasePort > 0 {
		port := func(node, offset int) string {
			return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.cfg.BasePort+offset+node))
		}
		bc.RaftAddr, bc.SerfAddr = port(i, raftPortOffset), port(i, serfPortOffset)
		bc.GRPCAddr, bc.HTTPAddr = port(i, grpcPortOffset), port(i, httpPortOffset)
		for j := range c.cfg.Backends {
			if j != i {
				bc.Join = append(bc.Join, port(j, serfPortOffset))
			}
		}
	} else {
		for _, n := range c.Running() {
			bc.Join = append(bc.Join, n.SerfAddr())
		}
	}
	if c.cfg.Network != nil {
		bc.Network = c.cfg.Network.Host(id)
	}
	if c.cfg.Backend != nil {
		c.cfg.Backend(&bc)
	}
	return bc
}

// start starts a backend and records it, with the ports it got, so that
// a restart reuses them and its Raft address stays the same.
func (c *Cluster) start(bc backend.Config) (*backend.Node, error) {
	n, err := backend.Start(bc)
	if err != nil {
		return nil, fmt.Errorf("localcluster: start backend %s: %w", bc.ID, err)
	}
	bc.RaftAddr, bc.SerfAddr, bc.GRPCAddr, bc.HTTPAddr = n.RaftAddr(), n.SerfAddr(), n.GRPCAddr(), n.HTTPAddr()
	c.mu.Lock()
	c.nodes[bc.ID], c.configs[bc.ID] = n, bc
	c.mu.Unlock()
	return n, nil
}

// readyClient asks frontends whether they are ready.
var readyClient = &http.Client{Timeout: 2 * time.Second}

// frontendsReady reports whether every frontend answers /readyz with 200:
// it knows which backend leads.
func (c *Cluster) frontendsReady() bool {
	for _, u := range c.URLs() {
		resp, err := readyClient.Get(u + "/readyz")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false
		}
	}
	return true
}

// SessionKey returns the key the frontends sign sessions with
// (Config.SessionKey, or the one Start made).
func (c *Cluster) SessionKey() []byte { return bytes.Clone(c.cfg.SessionKey) }

// IDs lists every backend id, running or not, in order.
func (c *Cluster) IDs() []string { return slices.Clone(c.ids) }

// Node returns backend id if it is running, or nil.
func (c *Cluster) Node(id string) *backend.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[id]
}

// Running returns the running backends in id order.
func (c *Cluster) Running() []*backend.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*backend.Node
	for _, id := range c.ids {
		if n := c.nodes[id]; n != nil {
			out = append(out, n)
		}
	}
	return out
}

// GRPCAddrs lists the gRPC address of every backend, running or not, in
// id order. A restarted backend keeps its address.
func (c *Cluster) GRPCAddrs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.ids))
	for _, id := range c.ids {
		out = append(out, c.configs[id].GRPCAddr)
	}
	return out
}

// GameClientConfig is the configuration of a game client of the backends:
// every backend's gRPC address, the cluster's logger and, on a fault
// network, the Dial of Network.Host(host), so that the client's links can
// be cut like the nodes'. Without a network, host is not used.
func (c *Cluster) GameClientConfig(host string) gameclient.Config {
	gc := gameclient.Config{Backends: c.GRPCAddrs(), Logger: c.log}
	if c.frontendTLS != nil {
		gc.TLS = c.frontendTLS.ClientConfig(pki.RoleBackend)
	}
	if c.cfg.Network != nil {
		gc.Dial = c.cfg.Network.Host(host).Dial
	}
	return gc
}

// URLs lists the frontends' base URLs (http://host:port), in order.
func (c *Cluster) URLs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.frontends))
	for _, fe := range c.frontends {
		out = append(out, fe.URL())
	}
	return out
}

// KillFrontend stops frontend i (from 0) at once, as a crash would: its
// sockets and its reports of who is online end without a word. Its URL
// stays in URLs; closing it again is a no-op.
func (c *Cluster) KillFrontend(i int) error {
	c.mu.Lock()
	if i < 0 || i >= len(c.frontends) {
		c.mu.Unlock()
		return fmt.Errorf("localcluster: no frontend %d", i)
	}
	fe := c.frontends[i]
	c.mu.Unlock()
	return fe.Close()
}

// Leader waits until the running backends agree on a leader among them and
// returns it: one node IsLeader (it has applied every entry of earlier
// terms) and every other names it. The backends in except are left out:
// neither candidates nor asked, so Leader(ctx, old) waits for a leader
// other than old, whatever old, still running but cut off, believes.
func (c *Cluster) Leader(ctx context.Context, except ...string) (*backend.Node, error) {
	var leader *backend.Node
	what := "a leader every running backend agrees on"
	if len(except) > 0 {
		what = fmt.Sprintf("a leader other than %v that the running backends but those agree on", except)
	}
	err := Poll(ctx, what, func() bool {
		leader = c.agreedLeader(except)
		return leader != nil
	})
	return leader, err
}

// agreedLeader returns the leader the running backends not in except
// agree on now, or nil.
func (c *Cluster) agreedLeader(except []string) *backend.Node {
	var leader *backend.Node
	var voters []*backend.Node
	for _, n := range c.Running() {
		if slices.Contains(except, n.ID()) {
			continue
		}
		voters = append(voters, n)
		if n.IsLeader() {
			if leader != nil {
				return nil // two leaders, of different terms: not settled yet
			}
			leader = n
		}
	}
	if leader == nil {
		return nil
	}
	for _, n := range voters {
		if n.Stats().LeaderID != leader.ID() {
			return nil
		}
	}
	return leader
}

// AppliedEverywhere waits until every running backend's state has applied
// index. The index must be that of a game command (a reply's version, or
// a leader's Stats().AppliedIndex): Raft's own entries (configuration
// changes, barriers, no-ops) never reach the state, so a commit index
// that ends on one of them is never reported applied.
func (c *Cluster) AppliedEverywhere(ctx context.Context, index uint64) error {
	return Poll(ctx, fmt.Sprintf("index %d applied on every running backend", index), func() bool {
		for _, n := range c.Running() {
			if n.Stats().AppliedIndex < index {
				return false
			}
		}
		return true
	})
}

// take removes backend id from the running ones and returns it.
func (c *Cluster) take(id string) (*backend.Node, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodes[id]
	if n == nil {
		return nil, fmt.Errorf("localcluster: backend %q is not running", id)
	}
	delete(c.nodes, id)
	return n, nil
}

// Kill stops backend id abruptly, as a crash would (see backend.Node.Kill),
// keeping its data dir for Restart.
func (c *Cluster) Kill(id string) error {
	n, err := c.take(id)
	if err != nil {
		return err
	}
	if err := n.Kill(); err != nil {
		return fmt.Errorf("localcluster: kill %s: %w", id, err)
	}
	return nil
}

// Stop stops backend id gracefully, as SIGTERM does (see
// backend.Node.Shutdown); ctx bounds its drain.
func (c *Cluster) Stop(ctx context.Context, id string) error {
	n, err := c.take(id)
	if err != nil {
		return err
	}
	if err := n.Shutdown(ctx); err != nil {
		return fmt.Errorf("localcluster: stop %s: %w", id, err)
	}
	return nil
}

// Restart starts a killed or stopped backend again on its data dir and
// ports, joining the running backends.
func (c *Cluster) Restart(id string) (*backend.Node, error) {
	c.mu.Lock()
	bc, known := c.configs[id]
	running := c.nodes[id] != nil
	c.mu.Unlock()
	switch {
	case !known:
		return nil, fmt.Errorf("localcluster: restart %q: no such backend", id)
	case running:
		return nil, fmt.Errorf("localcluster: restart %s: it is running", id)
	}
	bc.Join = nil
	for _, n := range c.Running() {
		bc.Join = append(bc.Join, n.SerfAddr())
	}
	return c.start(bc)
}

// Wait blocks until ctx ends (nil) or one of the backends and frontends
// running when it is called fails to serve (its error).
func (c *Cluster) Wait(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.mu.Lock()
	var waits []func(context.Context) error
	for _, n := range c.nodes {
		waits = append(waits, n.Wait)
	}
	for _, fe := range c.frontends {
		waits = append(waits, fe.Wait)
	}
	c.mu.Unlock()
	errc := make(chan error, len(waits))
	for _, wait := range waits {
		go func() { errc <- wait(ctx) }()
	}
	// Each returns nil once ctx ends, or its server's error.
	return <-errc
}

// Close stops everything abruptly: the frontends, then the backends, the
// leader first, before the others can notice and call an election. The
// data stays in Config.Dir. Close is for systems whose data is thrown
// away (tests, the benchmark); Shutdown stops gracefully.
func (c *Cluster) Close() error {
	errs := c.closeFrontends(func(fe *frontend.Server) error { return fe.Close() })
	for _, n := range c.takeAll(true) {
		if err := n.Kill(); err != nil {
			errs = append(errs, fmt.Errorf("localcluster: kill %s: %w", n.ID(), err))
		}
	}
	return errors.Join(errs...)
}

// Shutdown stops everything gracefully, as SIGTERM would, within ctx: the
// frontends first, then the followers and the leader last, so that
// leadership stays put while the others leave instead of moving at each
// stop.
func (c *Cluster) Shutdown(ctx context.Context) error {
	errs := c.closeFrontends(func(fe *frontend.Server) error { return fe.Shutdown(ctx) })
	for _, n := range c.takeAll(false) {
		if err := n.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("localcluster: stop %s: %w", n.ID(), err))
		}
	}
	return errors.Join(errs...)
}

// closeFrontends stops every frontend with stop and forgets them.
func (c *Cluster) closeFrontends(stop func(*frontend.Server) error) []error {
	c.mu.Lock()
	fes := c.frontends
	c.frontends = nil
	c.mu.Unlock()
	var errs []error
	for _, fe := range fes {
		if err := stop(fe); err != nil {
			errs = append(errs, fmt.Errorf("localcluster: stop frontend %s: %w", fe.ID(), err))
		}
	}
	return errs
}

// takeAll removes every running backend and returns them in id order,
// with the current leader moved first (leaderFirst) or last.
func (c *Cluster) takeAll(leaderFirst bool) []*backend.Node {
	ns := c.Running()
	c.mu.Lock()
	clear(c.nodes)
	c.mu.Unlock()
	if i := slices.IndexFunc(ns, (*backend.Node).IsLeader); i >= 0 {
		leader := ns[i]
		ns = slices.Delete(ns, i, i+1)
		if leaderFirst {
			ns = slices.Insert(ns, 0, leader)
		} else {
			ns = append(ns, leader)
		}
	}
	return ns
}
