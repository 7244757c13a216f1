// Package rpc serves the backend's gRPC services, the game and the cluster
// status: it maps requests to game commands and results to replies, and
// game, store and proxy errors to gRPC status codes, here and nowhere
// else. Where a request runs (here or on the leader) is the proxy's
// business (package proxy); guess batches a follower takes travel to the
// leader on the follower's own GuessStream (relay.go).
package rpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/gallows-game/gallows/backend/game"
	"github.com/gallows-game/gallows/backend/internal/membership"
	"github.com/gallows-game/gallows/backend/internal/proxy"
	"github.com/gallows-game/gallows/backend/internal/scores"
	"github.com/gallows-game/gallows/backend/internal/store"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// Peer is another backend as membership knows it.
type Peer struct {
	ID         string
	RaftAddr   string
	GRPCAddr   string
	HTTPAddr   string
	SerfStatus string
}

// Peers lists the known backends, this node included.
type Peers interface {
	Peers() []Peer
}

// Store is what the services need of this node's replica (store.Store).
type Store interface {
	proxy.Store
	// Room and Rooms return what this node has applied.
	Room(code string) (*game.Room, bool)
	Rooms() []*game.Room
	// RoomsPage returns a page of rooms (game.State.RoomsPage).
	RoomsPage(after string, limit int, keep func(*game.Room) bool) ([]*game.Room, bool)
	// WaitRoomVersion waits until this node has applied the room at a
	// version or later.
	WaitRoomVersion(ctx context.Context, code string, min uint64) error
	// Subscribe starts a watch of a room.
	Subscribe(code string, buffer int) (*game.Room, *store.Subscription, error)
	// Apply and ApplyAll commit commands and wait; ProposeAll does not wait.
	Apply(ctx context.Context, cmd game.Command) (store.Result, error)
	ApplyAll(ctx context.Context, cmds []game.Command) ([]store.Result, []error)
	ProposeAll(ctx context.Context, cmds []game.Command, answer func([]store.Result, []error))
	// Stats, IsVoter and Voters describe the nodes for the cluster status.
	Stats() store.Stats
	IsVoter(id string) (bool, error)
	Voters() ([]string, error)
}

// Config configures the services of one node.
type Config struct {
	// ID is this node's id.
	ID string
	// Store is this node's replica.
	Store Store
	// Peers resolves node ids to addresses.
	Peers Peers
	// Conns is the pool used to forward writes and gather status.
	Conns *Conns
	// Hold bounds how long a request waits for a leader (default 5s).
	Hold time.Duration
	// DefaultDeadline is applied to calls that arrive without one (default 10s).
	DefaultDeadline time.Duration
	// Rand picks room codes and words (default math/rand/v2).
	Rand func(n int) int
	// Now is the clock stamped into commands (default time.Now).
	Now func() time.Time
	// Logger receives the services' logs.
	Logger *slog.Logger
	// Creds, when set, secure the server (mutual TLS: internal/pki's
	// server config, which accepts backends and frontends); each call is
	// then also checked against its caller's role. Nil serves plaintext
	// to anyone (--insecure).
	Creds credentials.TransportCredentials
	// Keyring runs gossip keyring operations on every member (nil: the
	// Keyring call fails).
	Keyring Keyring
	// Scores is this node's scores gossip (nil: the Scores service is not
	// served).
	Scores *scores.Gossip
}

// Keyring runs a gossip keyring operation across the cluster.
type Keyring interface {
	Keyring(op membership.KeyOp, key string) (membership.KeyringResult, error)
}

// Server holds the gRPC server with every service registered.
type Server struct {
	*grpc.Server
	health *health.Server
	drain  *drain
}

// NewServer builds the gRPC server: game, cluster, health and reflection.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Peers == nil || cfg.Conns == nil || cfg.ID == "" {
		return nil, errors.New("rpc: id, store, peers and conns are required")
	}
	if cfg.Hold == 0 {
		cfg.Hold = 5 * time.Second
	}
	if cfg.DefaultDeadline == 0 {
		cfg.DefaultDeadline = 10 * time.Second
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.IntN
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	px, err := proxy.New(proxy.Config{
		ID: cfg.ID, Store: cfg.Store, Hold: cfg.Hold,
		LeaderGone: leaderGone,
		Resolve: func(id string) (string, bool) {
			for _, p := range cfg.Peers.Peers() {
				if p.ID == id && p.GRPCAddr != "" {
					return p.GRPCAddr, true
				}
			}
			return "", false
		},
		Dial: cfg.Conns.Get,
	})
	if err != nil {
		return nil, fmt.Errorf("rpc: %w", err)
	}
	d := newDrain()
	unary := []grpc.UnaryServerInterceptor{deadline(cfg.DefaultDeadline)}
	streams := []grpc.StreamServerInterceptor{d.stream}
	opts := []grpc.ServerOption{grpc.KeepaliveEnforcementPolicy(keepaliveEnforcement), grpc.KeepaliveParams(keepaliveParams)}
	if cfg.Creds != nil {
		auth := authorizer{log: cfg.Logger}
		unary = append([]grpc.UnaryServerInterceptor{auth.unary}, unary...)
		streams = append([]grpc.StreamServerInterceptor{auth.stream}, streams...)
		opts = append(opts, grpc.Creds(cfg.Creds))
	}
	opts = append(opts, grpc.ChainUnaryInterceptor(unary...), grpc.ChainStreamInterceptor(streams...))
	gs := grpc.NewServer(opts...)
	pb.RegisterGameServer(gs, &gameService{cfg: cfg, proxy: px, relay: newRelay(), drain: d})
	pb.RegisterClusterServer(gs, &clusterService{cfg: cfg})
	if cfg.Scores != nil {
		pb.RegisterScoresServer(gs, &scoresService{gossip: cfg.Scores})
	}
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)
	return &Server{Server: gs, health: hs, drain: d}, nil
}

// Keepalive: clients (gameclient, and this node's connections to the
// others) ping as pb.Keepalive says, so that a watch over a link
// cut without a reset moves to another node. The server allows pings at
// twice that rate and pings quiet clients the same way, so that the
// watches of a frontend that vanished are ended.
var (
	keepaliveEnforcement = keepalive.EnforcementPolicy{MinTime: pb.Keepalive.Time / 2, PermitWithoutStream: true}
	keepaliveParams      = keepalive.ServerParameters{Time: pb.Keepalive.Time, Timeout: pb.Keepalive.Timeout}
)

// Stop ends every call at once.
func (s *Server) Stop() {
	s.health.Shutdown()
	s.Server.Stop()
}

// GracefulStop reports NOT_SERVING, refuses new connections and calls,
// and ends every stream with Unavailable, so that their clients move to
// another node: watches at once, guess streams once every batch they took
// on has been answered. It returns when every call has ended, or cuts
// what is left when ctx is done.
func (s *Server) GracefulStop(ctx context.Context) {
	s.health.Shutdown()
	done := make(chan struct{})
	go func() {
		s.Server.GracefulStop()
		close(done)
	}()
	s.drain.start()
	select {
	case <-done:
	case <-ctx.Done():
		s.Server.Stop()
		<-done
	}
}

// deadline gives every unary call without a deadline a default one.
func deadline(d time.Duration) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		return handler(ctx, req)
	}
}
