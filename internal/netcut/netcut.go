// Package netcut is a node's own network, over the kernel's TCP and UDP,
// that the node can cut itself off from for a while: a pulled cable, on
// demand. gallows dev's "cut off" button uses it (gallows backend
// --dev-faults), so that a backend running as a real process can be
// isolated from the others and from the frontends without root or
// firewall rules.
//
// While cut, every connection opened through the network before the cut
// is closed, new dials fail at once, newly accepted connections are closed
// as soon as they arrive, and datagrams are dropped in both directions.
// When the cut ends, new connections and datagrams pass again; the
// protocols above (Raft, gRPC, serf) reconnect by themselves.
package netcut

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ErrCut is the error of a dial made while the network is cut.
var ErrCut = errors.New("netcut: this node is cut off from the network")

// Network opens TCP listeners and connections and UDP endpoints that a
// cut closes and silences. It satisfies the Network interfaces of the
// backend's Raft store, gRPC and gossip (Listen, Dial, ListenPacket). Its
// methods are safe for concurrent use.
type Network struct {
	mu    sync.Mutex
	until time.Time          // cut while time.Now() is before it
	conns map[*conn]struct{} // open stream connections
	timer *time.Timer        // fires when the cut ends, to wake waiters
	// healed is closed, and replaced, whenever a cut ends or is lifted.
	healed chan struct{}
	// dropped counts the datagrams a cut dropped, sent or received.
	dropped atomic.Int64
}

// New returns a network that is not cut.
func New() *Network {
	return &Network{conns: map[*conn]struct{}{}, healed: make(chan struct{})}
}

// CutFor cuts the network off for d from now (a cut already running is
// extended if that ends later): it closes every open connection. It
// returns when the connections are closed.
func (n *Network) CutFor(d time.Duration) {
	n.mu.Lock()
	if until := time.Now().Add(d); until.After(n.until) {
		n.until = until
	}
	open := n.conns
	n.conns = map[*conn]struct{}{}
	if n.timer != nil {
		n.timer.Stop()
	}
	n.timer = time.AfterFunc(time.Until(n.until), n.ended)
	n.mu.Unlock()
	for c := range open {
		_ = c.Conn.Close()
	}
}

// Heal ends a cut at once.
func (n *Network) Heal() {
	n.mu.Lock()
	n.until = time.Time{}
	if n.timer != nil {
		n.timer.Stop()
		n.timer = nil
	}
	n.mu.Unlock()
	n.ended()
}

// ended wakes whoever waits for the cut to end.
func (n *Network) ended() {
	n.mu.Lock()
	defer n.mu.Unlock()
	close(n.healed)
	n.healed = make(chan struct{})
}

// Cut reports whether the network is cut now.
func (n *Network) Cut() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cutLocked()
}

// Healed returns a channel that is closed when the current cut ends (or at
// the next Heal): a waiter checks Cut again then.
func (n *Network) Healed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.healed
}

func (n *Network) cutLocked() bool { return time.Now().Before(n.until) }

// Until is when the current cut ends; the zero time when not cut.
func (n *Network) Until() time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.cutLocked() {
		return time.Time{}
	}
	return n.until
}

// track records c as open, unless the network is cut: then it closes c
// and reports false.
func (n *Network) track(c *conn) bool {
	n.mu.Lock()
	if n.cutLocked() {
		n.mu.Unlock()
		_ = c.Conn.Close()
		return false
	}
	n.conns[c] = struct{}{}
	n.mu.Unlock()
	return true
}

func (n *Network) forget(c *conn) {
	n.mu.Lock()
	delete(n.conns, c)
	n.mu.Unlock()
}

// Dropped is how many datagrams cuts have dropped so far, sent or
// received.
func (n *Network) Dropped() int64 { return n.dropped.Load() }

// Open is how many stream connections are open through the network.
func (n *Network) Open() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.conns)
}

// Listen listens on a TCP address; connections accepted while the
// network is cut are closed at once, and the listener goes on accepting.
func (n *Network) Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("netcut: %w", err)
	}
	return &listener{Listener: ln, n: n}, nil
}

// Dial connects to a TCP address, unless the network is cut (ErrCut).
func (n *Network) Dial(ctx context.Context, addr string) (net.Conn, error) {
	if n.Cut() {
		return nil, fmt.Errorf("dial %s: %w", addr, ErrCut)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	nc := &conn{Conn: c, n: n}
	if !n.track(nc) {
		return nil, fmt.Errorf("dial %s: %w", addr, ErrCut)
	}
	return nc, nil
}

// ListenPacket opens a UDP endpoint on addr whose datagrams, sent or
// received, are dropped while the network is cut.
func (n *Network) ListenPacket(addr string) (net.PacketConn, error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("netcut: %w", err)
	}
	return &packetConn{PacketConn: pc, n: n}, nil
}

type listener struct {
	net.Listener
	n *Network
}

// Accept returns the next connection that arrives while the network is
// not cut.
func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		nc := &conn{Conn: c, n: l.n}
		if l.n.track(nc) {
			return nc, nil
		}
	}
}

// conn is a stream connection a cut closes.
type conn struct {
	net.Conn
	n *Network
}

// Close closes the connection and forgets it.
func (c *conn) Close() error {
	c.n.forget(c)
	return c.Conn.Close()
}

// packetConn is a UDP endpoint whose datagrams a cut drops.
type packetConn struct {
	net.PacketConn
	n *Network
}

// ReadFrom returns the next datagram that arrives while the network is
// not cut; those that arrive while it is are dropped.
func (p *packetConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		k, from, err := p.PacketConn.ReadFrom(b)
		if err != nil || !p.n.Cut() {
			return k, from, err
		}
		p.n.dropped.Add(1)
	}
}

// WriteTo sends b, or, while the network is cut, drops it without a word,
// as a cut cable does.
func (p *packetConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if p.n.Cut() {
		p.n.dropped.Add(1)
		return len(b), nil
	}
	return p.PacketConn.WriteTo(b, addr)
}
