package scores

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// EventName is the serf user event that carries score deltas.
const EventName = "gallows-scores"

// MaxEventSize bounds a delta sent as a user event. Memberlist carries
// broadcasts inside its UDP gossip packets (1,400 bytes, less its framing
// and AES-GCM), and never sends one that does not fit: larger deltas (a
// set that carries many rooms' bases, a frontend's report of many
// sessions) are left to anti-entropy.
const MaxEventSize = 1000

// Config configures a Gossip.
type Config struct {
	// Replica is this node's replica; required.
	Replica *Replica
	// Broadcast sends a payload to every member (serf user events, under
	// the gossip key); required.
	Broadcast func(payload []byte) error
	// Peers returns the gRPC addresses of the other alive backends.
	Peers func() []string
	// Dial returns a connection to a backend's gRPC address (mutual TLS).
	Dial func(addr string) (grpc.ClientConnInterface, error)
	// File is where the replica is kept between restarts ("": nowhere).
	File string
	// SyncInterval is the period of anti-entropy with one random peer
	// (default 2s); SaveInterval the longest a change waits to be saved
	// (default 1s).
	SyncInterval, SaveInterval time.Duration
	// Logger receives the gossip's logs.
	Logger *slog.Logger
}

// Gossip spreads a replica's changes: each local write at once, as a
// delta on serf's gossip, and periodically a push-pull anti-entropy
// exchange with one random peer (roots first, then digests, then the
// states that differ) that repairs whatever a node missed while it was
// down or cut off. It saves the replica to its file.
type Gossip struct {
	cfg        Config
	presence   *Presence
	dirty      atomic.Bool
	deltaBytes atomic.Int64 // bytes of the deltas broadcast
	deltas     atomic.Int64 // deltas broadcast
	syncBytes  atomic.Int64 // bytes of anti-entropy requests and replies sent

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// Start loads the replica from its file and starts the loops.
func Start(cfg Config) (*Gossip, error) {
	if cfg.Replica == nil || cfg.Broadcast == nil || cfg.Peers == nil || cfg.Dial == nil {
		return nil, errors.New("scores: replica, broadcast, peers and dial are required")
	}
	if cfg.SyncInterval == 0 {
		cfg.SyncInterval = 2 * time.Second
	}
	if cfg.SaveInterval == 0 {
		cfg.SaveInterval = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.File != "" {
		if err := cfg.Replica.Load(cfg.File); err != nil {
			return nil, err
		}
	}
	g := &Gossip{cfg: cfg, presence: NewPresence(nil), stop: make(chan struct{})}
	cfg.Replica.OnChange(func(Delta) { g.dirty.Store(true) })
	g.wg.Add(1)
	go g.loop()
	return g, nil
}

// Stop ends the loops and saves the replica; later calls do nothing.
func (g *Gossip) Stop() error {
	var err error
	g.stopOnce.Do(func() {
		close(g.stop)
		g.wg.Wait()
		err = g.save()
	})
	return err
}

// Traffic is what this node has sent for scores: the bytes of the deltas
// it broadcast (as written, once; serf retransmits each a few times), of
// its anti-entropy requests and replies, and the number of deltas.
func (g *Gossip) Traffic() (deltaBytes, syncBytes, deltas int64) {
	return g.deltaBytes.Load(), g.syncBytes.Load(), g.deltas.Load()
}

// Set sets a player's score.
func (g *Gossip) Set(id string, value int64) (int64, error) {
	d, err := g.cfg.Replica.Set(id, value)
	if err != nil {
		return 0, err
	}
	g.spread(d)
	return g.cfg.Replica.Score(id), nil
}

// Add adds to a player's score.
func (g *Gossip) Add(id string, n int64) (int64, error) {
	d, err := g.cfg.Replica.Add(id, n)
	if err != nil {
		return 0, err
	}
	g.spread(d)
	return g.cfg.Replica.Score(id), nil
}

// wire is a user event's payload: score deltas, frontends' presence.
type wire struct {
	Scores   Delta                       `json:"s,omitempty"`
	Presence map[string]FrontendPresence `json:"p,omitempty"`
}

func (g *Gossip) spread(d Delta) { g.broadcast(wire{Scores: d}) }

// broadcast sends w to every member, if it fits in a user event; what
// does not fit is left to anti-entropy.
func (g *Gossip) broadcast(w wire) bool {
	b, err := json.Marshal(w)
	if err != nil {
		g.cfg.Logger.Error("scores: encode delta", "err", err)
		return false
	}
	if len(b) > MaxEventSize {
		return false
	}
	if err := g.cfg.Broadcast(b); err != nil {
		g.cfg.Logger.Warn("scores: broadcast delta; anti-entropy will carry it", "err", err)
		return false
	}
	g.deltaBytes.Add(int64(len(b)))
	g.deltas.Add(1)
	return true
}

// ReportPresence takes a frontend's report and spreads it if it is news.
// A report too large for a user event goes out as a beat alone (its
// entries follow by anti-entropy).
func (g *Gossip) ReportPresence(frontend string, r FrontendPresence) {
	if !g.presence.Merge(frontend, r) {
		return
	}
	if !g.broadcast(wire{Presence: map[string]FrontendPresence{frontend: r}}) {
		g.broadcast(wire{Presence: map[string]FrontendPresence{frontend: {Epoch: r.Epoch, Beat: r.Beat}}})
	}
}

// Online lists who is online in room ("": everywhere).
func (g *Gossip) Online(room string) []Seen { return g.presence.Online(room) }

// Deliver merges a delta received by gossip.
func (g *Gossip) Deliver(payload []byte) {
	var w wire
	if err := json.Unmarshal(payload, &w); err != nil {
		g.cfg.Logger.Warn("scores: undecodable delta", "err", err)
		return
	}
	g.merge(w)
}

func (g *Gossip) merge(w wire) {
	if len(w.Scores) > 0 {
		g.cfg.Replica.Merge(w.Scores)
	}
	for id, r := range w.Presence {
		g.presence.Merge(id, r)
	}
}

// root is the anti-entropy root: the scores and the presence entries.
func (g *Gossip) root() uint64 { return g.cfg.Replica.Root() ^ g.presence.root()*0x9e3779b97f4a7c15 }

func (g *Gossip) loop() {
	defer g.wg.Done()
	syncT := time.NewTicker(g.cfg.SyncInterval)
	defer syncT.Stop()
	saveT := time.NewTicker(g.cfg.SaveInterval)
	defer saveT.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-saveT.C:
			g.presence.Forget()
			if err := g.save(); err != nil {
				g.cfg.Logger.Warn("scores: save", "err", err)
			}
		case <-syncT.C:
			peers := g.cfg.Peers()
			if len(peers) == 0 {
				continue
			}
			addr := peers[rand.IntN(len(peers))]
			ctx, cancel := context.WithTimeout(context.Background(), g.cfg.SyncInterval)
			if err := g.SyncWith(ctx, addr); err != nil {
				g.cfg.Logger.Debug("scores: anti-entropy", "peer", addr, "err", err)
			}
			cancel()
		}
	}
}

func (g *Gossip) save() error {
	if g.cfg.File == "" || !g.dirty.Swap(false) {
		return nil
	}
	if err := g.cfg.Replica.Save(g.cfg.File); err != nil {
		g.dirty.Store(true)
		return err
	}
	return nil
}

// SyncWith runs one anti-entropy exchange with the backend at addr: after
// it, each side holds the merge of both.
func (g *Gossip) SyncWith(ctx context.Context, addr string) error {
	cc, err := g.cfg.Dial(addr)
	if err != nil {
		return err
	}
	c := pb.NewScoresClient(cc)
	r := g.cfg.Replica
	req := &pb.SyncRequest{Root: g.root()}
	g.syncBytes.Add(int64(proto.Size(req)))
	reply, err := c.Sync(ctx, req)
	if err != nil {
		return fmt.Errorf("sync with %s: %w", addr, err)
	}
	if reply.GetEqual() {
		return nil
	}
	versions, err := json.Marshal(g.presence.versions())
	if err != nil {
		return fmt.Errorf("sync with %s: encode: %w", addr, err)
	}
	req = &pb.SyncRequest{Root: g.root(), Digest: r.Digest(), WithDigest: true, Presence: versions}
	g.syncBytes.Add(int64(proto.Size(req)))
	if reply, err = c.Sync(ctx, req); err != nil {
		return fmt.Errorf("sync digest with %s: %w", addr, err)
	}
	var theirs Delta
	if len(reply.GetStates()) > 0 {
		if err := json.Unmarshal(reply.GetStates(), &theirs); err != nil {
			return fmt.Errorf("sync with %s: states: %w", addr, err)
		}
		r.Merge(theirs)
	}
	if len(reply.GetPresence()) > 0 {
		var ps map[string]FrontendPresence
		if err := json.Unmarshal(reply.GetPresence(), &ps); err != nil {
			return fmt.Errorf("sync with %s: presence: %w", addr, err)
		}
		g.merge(wire{Presence: ps})
	}
	if len(reply.GetWanted()) == 0 && len(reply.GetPresenceWanted()) == 0 {
		return nil
	}
	b, err := json.Marshal(r.Get(reply.GetWanted()))
	if err != nil {
		return fmt.Errorf("sync with %s: encode: %w", addr, err)
	}
	pp, err := json.Marshal(g.presence.get(reply.GetPresenceWanted()))
	if err != nil {
		return fmt.Errorf("sync with %s: encode: %w", addr, err)
	}
	push := &pb.PushRequest{States: b, Presence: pp}
	g.syncBytes.Add(int64(proto.Size(push)))
	if _, err := c.Push(ctx, push); err != nil {
		return fmt.Errorf("push to %s: %w", addr, err)
	}
	return nil
}

// AnswerSync is the server side of SyncWith's first two calls.
func (g *Gossip) AnswerSync(req *pb.SyncRequest) (*pb.SyncReply, error) {
	r := g.cfg.Replica
	var reply *pb.SyncReply
	if !req.GetWithDigest() {
		reply = &pb.SyncReply{Equal: req.GetRoot() == g.root()}
	} else {
		mine, wanted := r.Diff(req.GetDigest())
		b, err := json.Marshal(mine)
		if err != nil {
			return nil, fmt.Errorf("scores: encode: %w", err)
		}
		var theirs map[string]FrontendPresence
		if len(req.GetPresence()) > 0 {
			if err := json.Unmarshal(req.GetPresence(), &theirs); err != nil {
				return nil, fmt.Errorf("%w: presence: %v", ErrInvalid, err)
			}
		}
		newer, pwanted := g.presence.newer(theirs)
		pb2, err := json.Marshal(newer)
		if err != nil {
			return nil, fmt.Errorf("scores: encode: %w", err)
		}
		reply = &pb.SyncReply{States: b, Wanted: wanted, Presence: pb2, PresenceWanted: pwanted}
	}
	g.syncBytes.Add(int64(proto.Size(reply)))
	return reply, nil
}

// AnswerPush merges pushed states.
func (g *Gossip) AnswerPush(req *pb.PushRequest) error {
	var w wire
	if err := json.Unmarshal(req.GetStates(), &w.Scores); err != nil {
		return fmt.Errorf("%w: states: %v", ErrInvalid, err)
	}
	if len(req.GetPresence()) > 0 {
		if err := json.Unmarshal(req.GetPresence(), &w.Presence); err != nil {
			return fmt.Errorf("%w: presence: %v", ErrInvalid, err)
		}
	}
	g.merge(w)
	return nil
}

// Replica is the replica this gossip spreads.
func (g *Gossip) Replica() *Replica { return g.cfg.Replica }
