// Package backend composes a Gallows backend node: the Raft store, serf
// membership, the gRPC services and the admin HTTP endpoints, started and
// stopped in order.
package backend

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"

	"github.com/gallows-game/gallows/backend/game"
	"github.com/gallows-game/gallows/backend/internal/membership"
	"github.com/gallows-game/gallows/backend/internal/rpc"
	"github.com/gallows-game/gallows/backend/internal/scores"
	"github.com/gallows-game/gallows/backend/internal/store"
	"github.com/gallows-game/gallows/internal/pki"
)

// Config is everything a backend node needs. Addresses are host:port; a
// port of 0 picks a free one (tests).
type Config struct {
	ID       string
	DataDir  string
	RaftAddr string
	SerfAddr string
	GRPCAddr string
	HTTPAddr string
	// Advertise is the host (name or IP) other nodes use to reach this one;
	// it replaces the host of every bind address. Empty: the bind hosts,
	// which must then be specific (not 0.0.0.0).
	Advertise string
	// Join lists serf addresses of other backends.
	Join []string
	// BootstrapExpect starts a new cluster once this many backends see each other.
	BootstrapExpect int
	// TimeoutScale multiplies every Raft timeout (1 = LAN).
	TimeoutScale float64

	// SnapshotThreshold, SnapshotInterval, TrailingLogs and SegmentSize
	// tune the store (zero: its defaults).
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	TrailingLogs      uint64
	SegmentSize       int
	// Network opens the node's Raft and gRPC connections, the ones it
	// accepts and the ones it makes to other nodes (nil: TCP). One that can
	// also ListenPacket (membership.Network) carries serf's gossip too.
	// Tests that cut, delay or heal links between nodes plug in here.
	Network store.Network
	// ReconcileInterval is the period of the leader's full membership pass.
	ReconcileInterval time.Duration
	// Logger receives every log of the node.
	Logger *slog.Logger

	// TLS is this node's certificate (role backend) and the cluster's CA:
	// Raft accepts and dials only backends, gRPC accepts backends and
	// frontends. Required unless Insecure.
	TLS *pki.Material
	// GossipKey encrypts serf's gossip; members without it cannot join.
	// It seeds the keyring kept in the data dir (see docs/SECURITY.md for
	// rotation). Required unless Insecure.
	GossipKey []byte
	// ScoresWall is the wall clock under the scores' hybrid logical clock
	// (nil: time.Now); tests skew it.
	ScoresWall func() time.Time
	// Insecure runs with plaintext Raft and gRPC and open gossip: anyone
	// who reaches the node's ports can join as a voter, read the log and
	// play as anyone. For a quick trial on loopback only.
	Insecure bool
	// DevCut, when set, is called by the admin endpoint POST
	// /v1/dev/cut?for=10s to cut this node off from the network for that
	// long (gallows backend --dev-faults, which gallows dev's fault
	// buttons use; see internal/netcut). Nil: no such endpoint.
	DevCut func(d time.Duration)
}

// Validate reports the first invalid setting in words a person can act on.
func (c Config) Validate() error {
	if c.ID == "" {
		return errors.New("--id is required")
	}
	if c.DataDir == "" {
		return errors.New("--data-dir is required")
	}
	for _, a := range []struct{ flag, addr string }{
		{"--raft-addr", c.RaftAddr}, {"--grpc-addr", c.GRPCAddr}, {"--http-addr", c.HTTPAddr},
	} {
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			return fmt.Errorf("%s %q: want host:port: %w", a.flag, a.addr, err)
		}
	}
	if err := membership.CheckBindAddr(c.SerfAddr); err != nil {
		return fmt.Errorf("--serf-addr %q: want ip:port: %w", c.SerfAddr, err)
	}
	for _, j := range c.Join {
		if err := membership.CheckJoinAddr(j); err != nil {
			return fmt.Errorf("--join %q: want host:port: %w", j, err)
		}
	}
	if c.BootstrapExpect < 0 {
		return fmt.Errorf("--bootstrap-expect %d: must be 0 or more", c.BootstrapExpect)
	}
	if s := c.TimeoutScale; s != 0 && !(s >= store.MinTimeoutScale && s <= store.MaxTimeoutScale) {
		return fmt.Errorf("--raft-timeout-scale %v: must be between %v and %v", s, store.MinTimeoutScale, store.MaxTimeoutScale)
	}
	switch {
	case c.Insecure && (c.TLS != nil || c.GossipKey != nil):
		return errors.New("--insecure with TLS or a gossip key: choose one")
	case !c.Insecure && (c.TLS == nil || c.GossipKey == nil):
		return errors.New("refusing to start without --tls-ca, --tls-cert, --tls-key and --gossip-key-file (create them with gallows tls and gallows gossip-key), or give --insecure for a loopback trial")
	case c.TLS != nil && c.TLS.Role() != pki.RoleBackend:
		return fmt.Errorf("--tls-cert: a backend needs a certificate of role backend, not %s", c.TLS.Role())
	}
	return nil
}

// Node is a running backend.
type Node struct {
	cfg     Config
	log     *slog.Logger
	store   *store.Store
	members *membership.Membership
	scores  *scores.Gossip
	grpc    *rpc.Server
	conns   *rpc.Conns
	http    *http.Server

	grpcAddr, httpAddr string
	serveErr           chan error
	stopOnce           sync.Once
	stopErr            error
	// stopping is set when Shutdown or Kill begins: from then on Raft's
	// failures to reach peers are expected (see quietRaft).
	stopping atomic.Bool
}

// Start starts a node: store, gRPC, membership, admin HTTP, in that order.
func Start(cfg Config) (_ *Node, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	n := &Node{cfg: cfg, log: cfg.Logger.With("node", cfg.ID), serveErr: make(chan error, 2)}
	var cleanup []func()
	defer func() {
		if err != nil {
			for i := len(cleanup) - 1; i >= 0; i-- {
				cleanup[i]()
			}
		}
	}()

	network := cfg.Network
	if network == nil {
		network = store.TCP{}
	}
	raftNetwork := network
	var grpcCreds, peerCreds credentials.TransportCredentials
	if cfg.TLS != nil {
		raftNetwork = store.TLS(network, cfg.TLS.ServerConfig(n.log.With("port", "raft"), pki.RoleBackend), cfg.TLS.ClientConfig(pki.RoleBackend))
		grpcCreds = credentials.NewTLS(cfg.TLS.ServerConfig(n.log.With("port", "grpc"), pki.RoleBackend, pki.RoleFrontend))
		peerCreds = credentials.NewTLS(cfg.TLS.ClientConfig(pki.RoleBackend))
	} else {
		n.log.Warn("running insecure: plaintext Raft and gRPC, unencrypted gossip; anyone who reaches these ports can join the cluster")
	}
	grpcLn, err := network.Listen(cfg.GRPCAddr)
	if err != nil {
		return nil, fmt.Errorf("listen for gRPC on %s: %w", cfg.GRPCAddr, err)
	}
	cleanup = append(cleanup, func() { _ = grpcLn.Close() })
	httpLn, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("listen for HTTP on %s: %w", cfg.HTTPAddr, err)
	}
	cleanup = append(cleanup, func() { _ = httpLn.Close() })
	if n.grpcAddr, err = advertised(grpcLn.Addr().String(), cfg.Advertise); err != nil {
		return nil, fmt.Errorf("--grpc-addr: %w", err)
	}
	if n.httpAddr, err = advertised(httpLn.Addr().String(), cfg.Advertise); err != nil {
		return nil, fmt.Errorf("--http-addr: %w", err)
	}

	raftAdvertise := ""
	if cfg.Advertise != "" {
		_, port, _ := net.SplitHostPort(cfg.RaftAddr)
		if port == "0" {
			return nil, errors.New("--raft-addr needs a fixed port when --advertise is set")
		}
		raftAdvertise = net.JoinHostPort(cfg.Advertise, port)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create --data-dir: %w", err)
	}
	// The store's leader loop has membership reconcile at once whenever
	// this node becomes ready to lead; membership starts after the store.
	var members atomic.Pointer[membership.Membership]
	var scoresGossip atomic.Pointer[scores.Gossip]
	quiet := quietRaft{id: cfg.ID, members: &members, stopping: &n.stopping}
	// Membership alone gets the Raft node itself: it bootstraps the cluster
	// and adds and removes voters.
	var raftNode *raft.Raft
	// The scores replica hears of game points as this node applies them:
	// every node applies the same log, so each reports the same figures,
	// which merge to one.
	replica := scores.NewReplica(cfg.ID, scores.NewClock(cfg.ID, cfg.ScoresWall))
	n.store, raftNode, err = store.Open(store.Config{
		OnRoomChange: func(r *game.Room) {
			for _, p := range r.Players {
				replica.Earn(p.ID, p.Name, r.Code, r.Version, int64(p.Points))
			}
		},
		ID: cfg.ID, Dir: filepath.Join(cfg.DataDir, "raft"), BindAddr: cfg.RaftAddr, Advertise: raftAdvertise,
		Network: raftNetwork, TimeoutScale: cfg.TimeoutScale,
		SnapshotThreshold: cfg.SnapshotThreshold, SnapshotInterval: cfg.SnapshotInterval,
		TrailingLogs: cfg.TrailingLogs, SegmentSize: cfg.SegmentSize, Logger: cfg.Logger,
		RaftLogLevel: quiet.level,
		OnLeading: func() {
			if m := members.Load(); m != nil {
				m.Reconcile()
			}
		},
	})
	if err != nil {
		return nil, err
	}
	cleanup = append(cleanup, func() { _ = n.store.Close() })

	serfAdv, err := serfAdvertise(cfg)
	if err != nil {
		return nil, err
	}
	// Peers come back after a restart (a container's, say): reconnect within
	// a second, not after gRPC's default backoff of up to two minutes, so
	// status and forwarding see them again at once.
	n.conns = rpc.NewConns(peerCreds, grpc.WithConnectParams(grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
		MinConnectTimeout: 2 * time.Second,
	}), grpc.WithContextDialer(network.Dial))
	cleanup = append(cleanup, func() { _ = n.conns.Close() })
	gossip, _ := cfg.Network.(membership.Network)
	n.members, err = membership.New(membership.Config{
		Tags: membership.Tags{
			ID: cfg.ID, RaftAddr: n.store.RaftAddr(), GRPCAddr: n.grpcAddr, HTTPAddr: n.httpAddr,
			Expect: cfg.BootstrapExpect,
		},
		BindAddr:          cfg.SerfAddr,
		Network:           gossip,
		AdvertiseAddr:     serfAdv,
		Join:              cfg.Join,
		BootstrapExpect:   cfg.BootstrapExpect,
		HasState:          n.store.HasState(),
		Raft:              raftNode,
		Logger:            cfg.Logger.With("node", cfg.ID),
		ReconcileInterval: cfg.ReconcileInterval,
		GossipKey:         cfg.GossipKey,
		KeyringFile:       keyringFile(cfg),
		OnUserEvent: func(name string, payload []byte) {
			if g := scoresGossip.Load(); g != nil && name == scores.EventName {
				g.Deliver(payload)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("start membership: %w", err)
	}
	cleanup = append(cleanup, func() { _ = n.members.Shutdown() })
	members.Store(n.members)
	if n.store.IsLeader() { // ready before membership was there to hear it
		n.members.Reconcile()
	}

	n.scores, err = scores.Start(scores.Config{
		Replica:   replica,
		Broadcast: func(b []byte) error { return n.members.UserEvent(scores.EventName, b) },
		Peers:     n.peerAddrs,
		Dial: func(addr string) (grpc.ClientConnInterface, error) {
			return n.conns.Get(addr)
		},
		File:   filepath.Join(cfg.DataDir, "scores", "replica.json"),
		Logger: n.log,
	})
	if err != nil {
		return nil, fmt.Errorf("start scores: %w", err)
	}
	cleanup = append(cleanup, func() { _ = n.scores.Stop() })
	scoresGossip.Store(n.scores)

	n.grpc, err = rpc.NewServer(rpc.Config{
		ID: cfg.ID, Store: n.store, Peers: peers{n.members}, Conns: n.conns, Logger: n.log,
		Creds: grpcCreds, Keyring: n.members, Scores: n.scores,
	})
	if err != nil {
		return nil, err
	}
	go func() { n.serveErr <- n.grpc.Serve(grpcLn) }()

	n.http = &http.Server{Handler: n.adminHandler(), ReadHeaderTimeout: 5 * time.Second}
	if cfg.TLS != nil {
		// The admin address is node-authenticated like the others: a
		// client certificate of the cluster (backend or frontend) is needed
		// for health, metrics and the scores API alike.
		httpLn = tls.NewListener(httpLn, cfg.TLS.ServerConfig(n.log.With("port", "http"), pki.RoleBackend, pki.RoleFrontend))
	}
	go func() {
		if err := n.http.Serve(httpLn); !errors.Is(err, http.ErrServerClosed) {
			n.serveErr <- err
		}
	}()
	n.log.Info("backend started", "raft", n.store.RaftAddr(), "grpc", n.grpcAddr, "http", n.httpAddr,
		"serf", n.SerfAddr(), "has_state", n.store.HasState())
	return n, nil
}

// keyringFile is where the gossip keyring is kept, if gossip is encrypted.
func keyringFile(cfg Config) string {
	if cfg.GossipKey == nil {
		return ""
	}
	return filepath.Join(cfg.DataDir, "serf", "keyring")
}

// advertised replaces the host of a bound address with host, if set.
func advertised(bound, host string) (string, error) {
	h, port, err := net.SplitHostPort(bound)
	if err != nil {
		return "", err
	}
	if host != "" {
		return net.JoinHostPort(host, port), nil
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() {
		return "", fmt.Errorf("%s binds all interfaces: set --advertise", bound)
	}
	return bound, nil
}

// serfAdvertise is the serf address others use: memberlist needs an IP,
// so a host name is resolved once here.
func serfAdvertise(cfg Config) (string, error) {
	if cfg.Advertise == "" {
		return "", nil
	}
	_, port, _ := net.SplitHostPort(cfg.SerfAddr)
	host := cfg.Advertise
	if net.ParseIP(host) == nil {
		ips, err := net.LookupIP(host)
		if err != nil || len(ips) == 0 {
			return "", fmt.Errorf("--advertise %q: cannot resolve: %w", host, err)
		}
		host = ips[0].String()
		for _, ip := range ips {
			if ip.To4() != nil {
				host = ip.String()
				break
			}
		}
	}
	return net.JoinHostPort(host, port), nil
}

// ID is the node id.
func (n *Node) ID() string { return n.cfg.ID }

// GRPCAddr is the advertised gRPC address.
func (n *Node) GRPCAddr() string { return n.grpcAddr }

// HTTPAddr is the advertised admin HTTP address.
func (n *Node) HTTPAddr() string { return n.httpAddr }

// RaftAddr is the advertised Raft address.
func (n *Node) RaftAddr() string { return n.store.RaftAddr() }

// SerfAddr is the serf address other nodes join.
func (n *Node) SerfAddr() string { return n.members.LocalMember().SerfAddr }

// Wait blocks until ctx is done or a server fails.
func (n *Node) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-n.serveErr:
		return fmt.Errorf("backend %s: serve: %w", n.cfg.ID, err)
	}
}

// Shutdown stops the node gracefully: it hands leadership over, leaves
// serf, drains gRPC and HTTP, then closes the store. ctx bounds the drain.
func (n *Node) Shutdown(ctx context.Context) error {
	n.stopOnce.Do(func() {
		n.stopping.Store(true)
		var errs []error
		if !n.othersAlive() {
			// The others have left (the whole cluster is stopping) or
			// failed: nobody to hand leadership to.
			n.log.Info("no other backend alive: leadership not handed over")
		} else if err := n.store.TransferLeadership(); err != nil {
			n.log.Warn("leadership transfer failed", "err", err)
		}
		if err := n.members.Leave(); err != nil {
			errs = append(errs, fmt.Errorf("leave: %w", err))
		}
		n.grpc.GracefulStop(ctx)
		if err := n.http.Shutdown(ctx); err != nil {
			// A request still running when ctx ran out, such as a scrape,
			// is cut.
			n.log.Warn("admin http did not drain in time; closing it", "err", err)
			if err := n.http.Close(); err != nil {
				errs = append(errs, fmt.Errorf("admin http: %w", err))
			}
		}
		n.stopErr = errors.Join(append(errs, n.close()...)...)
		n.log.Info("backend stopped")
	})
	return n.stopErr
}

// Kill stops the node abruptly, as a crash would: no leadership transfer,
// no serf leave. The data dir is kept so the node can be restarted.
func (n *Node) Kill() error {
	n.stopOnce.Do(func() {
		n.stopping.Store(true)
		n.grpc.Stop()
		_ = n.http.Close()
		n.stopErr = errors.Join(n.close()...)
	})
	return n.stopErr
}

func (n *Node) close() []error {
	return []error{n.scores.Stop(), n.members.Shutdown(), n.conns.Close(), n.store.Close()}
}

// othersAlive reports whether serf counts another backend alive.
func (n *Node) othersAlive() bool {
	for _, m := range n.members.Members() {
		if m.ID != n.cfg.ID && m.Status == "alive" {
			return true
		}
	}
	return false
}

// peerAddrs are the gRPC addresses of the other alive backends.
func (n *Node) peerAddrs() []string {
	var out []string
	for _, m := range n.members.Members() {
		if m.ID != n.cfg.ID && m.Status == "alive" && m.GRPCAddr != "" {
			out = append(out, m.GRPCAddr)
		}
	}
	return out
}

// peers adapts membership to rpc.Peers.
type peers struct{ m *membership.Membership }

func (p peers) Peers() []rpc.Peer {
	ms := p.m.Members()
	out := make([]rpc.Peer, 0, len(ms))
	for _, m := range ms {
		out = append(out, rpc.Peer{ID: m.ID, RaftAddr: m.RaftAddr, GRPCAddr: m.GRPCAddr, HTTPAddr: m.HTTPAddr, SerfStatus: m.Status})
	}
	return out
}
