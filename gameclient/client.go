// Package gameclient is the Go client of a Gallows backend cluster: the
// frontend talks to the cluster through it, and so do the benchmark and tests.
//
// A Client keeps one gRPC connection per backend address and learns the
// members of the cluster and its Raft leader from a Cluster.WatchStatus
// stream, which it reopens on another backend whenever it breaks. On top of
// that it offers:
//
//   - Writes (CreateRoom, Guess, NextRound, Rematch, ExpireTurn, Join,
//     Leave) and reads sent to the leader when it is known, hedged on
//     another backend when the leader is slow to answer, and retried on
//     the next backend when a backend is unreachable or has no quorum,
//     until Config.Timeout; a call given up on then says NO_QUORUM, or
//     NO_MAJORITY (see NoMajority) when the cluster status shows fewer
//     than a majority of the voters up. Every other error is an answer
//     and is returned at once; Reason tells which one. Guesses made at
//     the same time through one backend share a message of its
//     GuessStream, and so a log entry.
//   - Linearizable reads of rooms (GetRoom, ListRooms): they see every
//     write acknowledged before they began, and never a room older than
//     one this client returned; GetRoomStale is quicker and may lag.
//     Categories and room watches are served by a follower.
//   - Room watches (WatchRoom) that survive the death of the backend serving
//     them: the stream is reopened on another backend and the caller only
//     ever sees newer versions of the room.
//   - Cluster watches (Cluster, WatchCluster) for status pages.
//
// Every attempt of every call can be recorded through a Recorder, for
// checking histories in tests.
//
// Values handed out by a Client (rooms, replies, statuses, events) are
// shared with the Client and with the Recorder: treat them as read-only.
package gameclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// Default timeouts, used when the Config leaves them zero: the client's
// whole policy is a call's timeout, an attempt's, and when to hedge.
const (
	// DefaultTimeout bounds one call with all its attempts.
	DefaultTimeout = 8 * time.Second
	// DefaultAttemptTimeout bounds one attempt on one backend. A commit
	// takes milliseconds and an election well under a second, so a backend
	// that has not answered by then is cut off or stalled: the request goes
	// to the next one.
	DefaultAttemptTimeout = time.Second
	// DefaultHedgeAfter is how long an attempt goes unanswered before the
	// same request is also sent to another backend: far above a commit's
	// milliseconds, well below DefaultAttemptTimeout.
	DefaultHedgeAfter = 250 * time.Millisecond
)

// suspectFor is how long a backend that failed at the transport level is
// tried only after the others.
const suspectFor = 2 * time.Second

// ErrClosed is returned by calls on a closed Client.
var ErrClosed = errors.New("gameclient: client closed")

// Config configures a Client.
type Config struct {
	// Backends are the initial backend gRPC addresses (host:port); at least
	// one. They stay candidates even when the cluster status does not list
	// them. The rest of the cluster is learned from the cluster status.
	Backends []string
	// Logger receives the client's logs (default slog.Default()).
	Logger *slog.Logger
	// Timeout is the deadline of one call, all its attempts included
	// (default 8s); also of WatchRoom's first subscription.
	Timeout time.Duration
	// AttemptTimeout is the deadline of one attempt on one backend
	// (default 1s), at most Timeout; also how long a new watch stream may
	// take to deliver its first event.
	AttemptTimeout time.Duration
	// HedgeAfter is how long an attempt may go unanswered before the
	// request is also sent to another backend, the first answer winning
	// (default 250ms; negative: never). Every request is safe to send
	// twice: reads, and writes that carry request ids or name their round.
	HedgeAfter time.Duration
	// Recorder, when set, receives every attempt and its outcome.
	Recorder Recorder
	// Dial, when set, opens the connections to the backends instead of
	// plain TCP: tests that cut or delay links plug in here.
	Dial func(ctx context.Context, addr string) (net.Conn, error)
	// TLS, when set, secures every connection (a client certificate the
	// backends accept, and their CA); nil: plaintext, for backends run
	// with --insecure.
	TLS *tls.Config
}

// Op is one recorded attempt of a call on one backend.
//
// Method is the full gRPC method name (pb.Game_Guess_FullMethodName, ...).
// A guess is recorded as a Guess with its own request and reply, although
// it travels in a batch on a GuessStream. For streams (WatchRoom, WatchStatus) every received message is one Op
// whose Start is when the stream was opened and whose End is when the
// message arrived; a stream that fails is one Op with Err set and no Reply.
type Op struct {
	Method  string
	Request proto.Message
	Reply   proto.Message // nil when Err is set
	Err     error
	Start   time.Time
	End     time.Time
	Node    string // the backend address tried
}

// Recorder receives every recorded Op. It is called from many goroutines
// at once and must not modify the messages.
type Recorder interface {
	Record(Op)
}

// backendConn is one backend address and its reused connection.
type backendConn struct {
	cc      *grpc.ClientConn
	game    pb.GameClient
	cluster pb.ClusterClient
	scores  pb.ScoresClient
	guesses *guessBatcher
}

// Client talks to a Gallows backend cluster. It is safe for concurrent use.
type Client struct {
	cfg Config
	log *slog.Logger

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // background goroutines

	mu         sync.Mutex
	closed     bool
	conns      map[string]*backendConn
	seeds      []string
	addrs      []string // candidates: seeds and every grpc_addr of the status, sorted
	status     *pb.ClusterStatus
	haveStatus bool
	// statusLive reports that a status stream is open and has delivered
	// status (it sends every change); statusLost is when the last live
	// stream ended.
	statusLive bool
	statusLost time.Time
	leaderAddr string
	down       map[string]bool      // reported down by the cluster status
	suspect    map[string]time.Time // failed at the transport level at
	rr         int                  // round-robin position
	watchers   map[*clusterWatcher]struct{}
	streams    map[string]map[*roomStream]struct{} // open room streams by address

	versions versions // the highest version of each room returned
}

// New validates cfg, connects to the configured backends (connections are
// made lazily by gRPC) and starts watching the cluster status. It does not
// wait for any backend to answer.
func New(cfg Config) (*Client, error) {
	if len(cfg.Backends) == 0 {
		return nil, errors.New("gameclient: at least one backend address is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = DefaultAttemptTimeout
	}
	cfg.AttemptTimeout = min(cfg.AttemptTimeout, cfg.Timeout)
	if cfg.HedgeAfter == 0 {
		cfg.HedgeAfter = DefaultHedgeAfter
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "gameclient"),
		ctx:      ctx,
		cancel:   cancel,
		conns:    map[string]*backendConn{},
		status:   &pb.ClusterStatus{},
		down:     map[string]bool{},
		suspect:  map[string]time.Time{},
		watchers: map[*clusterWatcher]struct{}{},
		streams:  map[string]map[*roomStream]struct{}{},
	}
	// fail undoes what was started: the guess batchers, the connections.
	fail := func(err error) (*Client, error) {
		cancel()
		c.wg.Wait()
		return nil, errors.Join(err, c.closeConns())
	}
	for _, addr := range cfg.Backends {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fail(fmt.Errorf("gameclient: backend %q: want host:port: %w", addr, err))
		}
		if slices.Contains(c.seeds, addr) {
			continue
		}
		c.seeds = append(c.seeds, addr)
		c.mu.Lock()
		_, err := c.connLocked(addr)
		c.mu.Unlock()
		if err != nil {
			return fail(err)
		}
	}
	c.addrs = slices.Sorted(slices.Values(c.seeds))
	c.wg.Add(1)
	go c.watchClusterLoop()
	return c, nil
}

// Close stops every watch (their channels are closed), waits for the
// background goroutines and closes the connections. Calls in flight fail.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	return c.closeConns()
}

func (c *Client) closeConns() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for addr, bc := range c.conns {
		if err := bc.cc.Close(); err != nil {
			errs = append(errs, fmt.Errorf("gameclient: close connection to %s: %w", addr, err))
		}
		delete(c.conns, addr)
	}
	return errors.Join(errs...)
}

// conn returns the connection to addr, creating it on first use.
func (c *Client) conn(addr string) (*backendConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	return c.connLocked(addr)
}

func (c *Client) connLocked(addr string) (*backendConn, error) {
	if bc := c.conns[addr]; bc != nil {
		return bc, nil
	}
	// A backend that comes back (a restarted container, say) is reconnected
	// within about a second, not after gRPC's default backoff of up to two
	// minutes.
	// passthrough: the address is resolved at every connection attempt, so a
	// container that was gone for a while is found as soon as it is back.
	creds := insecure.NewCredentials()
	if c.cfg.TLS != nil {
		creds = credentials.NewTLS(c.cfg.TLS)
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(creds),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           grpcbackoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: 2 * time.Second,
		}),
		grpc.WithKeepaliveParams(pb.Keepalive)}
	if c.cfg.Dial != nil {
		opts = append(opts, grpc.WithContextDialer(c.cfg.Dial))
	}
	cc, err := grpc.NewClient("passthrough:///"+addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("gameclient: connect to %s: %w", addr, err)
	}
	bc := &backendConn{cc: cc, game: pb.NewGameClient(cc), cluster: pb.NewClusterClient(cc), scores: pb.NewScoresClient(cc)}
	bc.guesses = newGuessBatcher(cc, c.ctx.Done())
	c.conns[addr] = bc
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		bc.guesses.run(c.ctx)
	}()
	return bc, nil
}

// goBackground runs f in a goroutine that Close waits for; false when the
// client is closed.
func (c *Client) goBackground(f func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
	return true
}

// order says which backends a call prefers.
type order int

const (
	// leaderFirst: the leader, then the others (writes).
	leaderFirst order = iota
	// followersFirst: the followers, then the leader (watches, categories).
	followersFirst
)

// candidates lists every known backend address in the order a call should
// try them: healthy ones before those reported down or recently failed,
// the leader first or last as o says, the rest rotated round-robin.
func (c *Client) candidates(o order) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.addrs)
	if n == 0 {
		return nil
	}
	start := c.rr % n
	c.rr++
	now := time.Now()
	var good, bad []string
	leaderGood, leaderBad := false, false
	for i := range n {
		addr := c.addrs[(start+i)%n]
		isBad := c.unhealthyLocked(addr, now)
		switch {
		case addr == c.leaderAddr && isBad:
			leaderBad = true
		case addr == c.leaderAddr:
			leaderGood = true
		case isBad:
			bad = append(bad, addr)
		default:
			good = append(good, addr)
		}
	}
	out := make([]string, 0, n)
	if o == leaderFirst {
		if leaderGood {
			out = append(out, c.leaderAddr)
		}
		out = append(out, good...)
		if leaderBad {
			out = append(out, c.leaderAddr)
		}
		return append(out, bad...)
	}
	out = append(out, good...)
	if leaderGood {
		out = append(out, c.leaderAddr)
	}
	out = append(out, bad...)
	if leaderBad {
		out = append(out, c.leaderAddr)
	}
	return out
}

// pick returns the first candidate not in skip; when every candidate is
// in skip, skip is cleared and the first candidate is returned.
func (c *Client) pick(o order, skip map[string]bool) (string, bool) {
	if o == leaderFirst {
		if addr := c.healthyLeader(); addr != "" && !skip[addr] {
			return addr, true
		}
	}
	cands := c.candidates(o)
	if len(cands) == 0 {
		return "", false
	}
	for _, addr := range cands {
		if !skip[addr] {
			return addr, true
		}
	}
	clear(skip)
	return cands[0], true
}

// healthyLeader returns the leader's address when it is known, not down
// and not suspect: the first candidate of a write, the common case, found
// without listing the others.
func (c *Client) healthyLeader() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leaderAddr == "" || c.unhealthyLocked(c.leaderAddr, time.Now()) {
		return ""
	}
	return c.leaderAddr
}

// unhealthyLocked reports whether addr is down according to the cluster
// status or failed at the transport level less than suspectFor ago; an
// older failure is forgotten. c.mu is held.
func (c *Client) unhealthyLocked(addr string, now time.Time) bool {
	if at, ok := c.suspect[addr]; ok {
		if now.Sub(at) < suspectFor {
			return true
		}
		delete(c.suspect, addr)
	}
	return c.down[addr]
}

// markFailed deprioritizes addr for a while: after a transport failure, or
// when it left a write unanswered that another backend answered.
func (c *Client) markFailed(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.suspect[addr] = time.Now()
}

// markOK clears a transport failure of addr.
func (c *Client) markOK(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.suspect, addr)
}

func (c *Client) record(op Op) {
	if c.cfg.Recorder != nil {
		c.cfg.Recorder.Record(op)
	}
}
