// Package faultnet is a network for tests that run many nodes in one
// process. Its connections are real loopback TCP, but each one joins two
// named hosts, and a test can cut, delay or heal the link between any two
// hosts while the nodes run.
//
// A cut link loses what is sent over it, as a network partition does: the
// sender is not told, nothing arrives, and new connections across it do not
// get through. When the link heals, the connections that lost data are
// reset, so that the protocols above reconnect rather than read a stream
// with a hole in it. A connection closed while its link is cut is not seen
// closed at the other end until the link heals: no FIN crosses a
// partition. A delayed link delivers everything, in order, late.
//
// Each node gets its own Host, whose Listen and Dial it uses for all its
// connections (Raft's, gRPC's), and ListenPacket for its datagrams
// (gossip's); a connection from or to an address that no Host listens on is
// never faulted.
package faultnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Network holds the hosts, the links between them and their connections.
type Network struct {
	mu      sync.Mutex
	hosts   []string
	owners  map[string]string // listening address → host
	dialers map[string]string // local address of a dialed connection → host
	dialing int               // Dials between their start and registering their address
	links   map[link]state
	conns   map[*conn]struct{}
	packets map[string]*packetConn // datagram endpoints by address
	// changed is closed, and replaced, whenever a link or the dialers change.
	changed chan struct{}
}

type link struct{ from, to string }

type state struct {
	cut   bool
	delay time.Duration
	// held: what is sent waits, in order, until the link is released, as
	// the traffic of a stopped (frozen) process waits in socket buffers.
	held bool
}

// New returns a network in which every link is up.
func New() *Network {
	return &Network{
		owners:  map[string]string{},
		dialers: map[string]string{},
		links:   map[link]state{},
		conns:   map[*conn]struct{}{},
		changed: make(chan struct{}),
	}
}

// Host returns the network as host name sees it.
func (n *Network) Host(name string) *Host {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !slices.Contains(n.hosts, name) {
		n.hosts = append(n.hosts, name)
	}
	return &Host{n: n, name: name}
}

// Cut cuts the link between a and b in both directions.
func (n *Network) Cut(a, b string) {
	n.update(func() {
		n.cut(a, b)
		n.cut(b, a)
	})
}

// CutOneWay cuts the link from one host to another: what from sends to is
// lost, what to sends from still arrives.
func (n *Network) CutOneWay(from, to string) {
	n.update(func() { n.cut(from, to) })
}

// Isolate cuts every link between host and the other hosts known so far.
func (n *Network) Isolate(host string) {
	n.update(func() {
		for _, h := range n.hosts {
			if h != host {
				n.cut(host, h)
				n.cut(h, host)
			}
		}
	})
}

// Delay makes the link between a and b, in both directions, deliver
// everything d late (0: on time).
func (n *Network) Delay(a, b string, d time.Duration) {
	n.update(func() {
		for _, l := range []link{{a, b}, {b, a}} {
			st := n.links[l]
			st.delay = d
			n.links[l] = st
		}
	})
}

// Freeze makes host look, from the network, like a process stopped with
// SIGSTOP: what it sends and what is sent to it waits, in order, and
// arrives once Thaw releases it; its datagrams are lost. (Its goroutines
// keep running: a frozen Raft leader's own timers still fire.)
func (n *Network) Freeze(host string) {
	n.update(func() {
		for _, h := range n.hosts {
			if h != host {
				for _, l := range []link{{host, h}, {h, host}} {
					st := n.links[l]
					st.held = true
					n.links[l] = st
				}
			}
		}
	})
}

// Thaw releases what Freeze held for host, which arrives in order.
func (n *Network) Thaw(host string) {
	n.update(func() {
		for l, st := range n.links {
			if l.from == host || l.to == host {
				st.held = false
				n.links[l] = st
			}
		}
	})
}

// waitReleased waits until the link from one host to another is not held,
// or done is closed (false).
func (n *Network) waitReleased(from, to string, done <-chan struct{}) bool {
	for {
		n.mu.Lock()
		held := n.links[link{from, to}].held
		changed := n.changed
		n.mu.Unlock()
		if !held {
			return true
		}
		select {
		case <-changed:
		case <-done:
			return false
		}
	}
}

// Heal restores the link between a and b in both directions, without delay,
// and resets the connections between them that lost data.
func (n *Network) Heal(a, b string) {
	n.heal(func(l link) bool { return l == link{a, b} || l == link{b, a} })
}

// HealHost restores every link between host and the others, both ways
// (undoing Isolate, Cut and Delay that involve it), and resets host's
// connections that lost data. Links between other hosts stay as they are.
func (n *Network) HealHost(host string) {
	n.heal(func(l link) bool { return l.from == host || l.to == host })
}

// HealAll restores every link and resets every connection that lost data.
func (n *Network) HealAll() {
	n.heal(func(link) bool { return true })
}

func (n *Network) heal(match func(link) bool) {
	var reset []*conn
	n.update(func() {
		for l := range n.links {
			if match(l) {
				delete(n.links, l)
			}
		}
		for c := range n.conns {
			// A connection lost data only after it found its peer, so
			// peer does not block here.
			if c.lost() && match(link{c.from, c.peer()}) {
				reset = append(reset, c)
			}
		}
	})
	for _, c := range reset {
		_ = c.reset()
	}
}

// cut marks the link from one host to another cut; under n.mu.
func (n *Network) cut(from, to string) {
	st := n.links[link{from, to}]
	st.cut = true
	n.links[link{from, to}] = st
}

// update runs f under the lock and wakes every waiter.
func (n *Network) update(f func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	f()
	close(n.changed)
	n.changed = make(chan struct{})
}

func (n *Network) state(from, to string) state {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.links[link{from, to}]
}

// waitOpen waits until neither direction between a and b is cut: a
// connection needs both to be set up.
func (n *Network) waitOpen(ctx context.Context, a, b string) error {
	for {
		n.mu.Lock()
		cut := n.links[link{a, b}].cut || n.links[link{b, a}].cut
		changed := n.changed
		n.mu.Unlock()
		if !cut {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("faultnet: %s cannot reach %s: %w", a, b, ctx.Err())
		}
	}
}

// dialer returns the host that dialed from addr, or "" for a connection
// from outside the network: one that no Dial under way can have made.
func (n *Network) dialer(addr string) string {
	timeout := time.NewTimer(dialerWait)
	defer timeout.Stop()
	for {
		n.mu.Lock()
		host, ok := n.dialers[addr]
		dialing := n.dialing
		changed := n.changed
		n.mu.Unlock()
		if ok {
			return host
		}
		if dialing == 0 {
			return ""
		}
		select {
		case <-changed:
		case <-timeout.C:
			return ""
		}
	}
}

// dialerWait bounds how long an accepted connection waits to learn which
// host dialed it, while Dials are under way. The dialer says so right
// after its connect returns.
const dialerWait = time.Second

// Host is one node's view of the network. Its Listen and Dial make the
// node's connections; Host satisfies the Network interface of the Raft
// store, and Dial fits grpc.WithContextDialer.
type Host struct {
	n    *Network
	name string
}

// Name is the host's name.
func (h *Host) Name() string { return h.name }

// Listen listens on a loopback TCP address, such as "127.0.0.1:0", for
// connections from the other hosts.
func (h *Host) Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("faultnet: %s: %w", h.name, err)
	}
	h.n.update(func() { h.n.owners[ln.Addr().String()] = h.name })
	return &listener{Listener: ln, h: h}, nil
}

// Dial connects to addr. While the link to the host listening there is
// cut, it waits for the link to heal or ctx to end, as a dial across a
// partition hangs until it times out.
func (h *Host) Dial(ctx context.Context, addr string) (net.Conn, error) {
	h.n.mu.Lock()
	to := h.n.owners[addr]
	h.n.mu.Unlock()
	if to != "" {
		if err := h.n.waitOpen(ctx, h.name, to); err != nil {
			return nil, err
		}
	}
	h.n.update(func() { h.n.dialing++ })
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		h.n.update(func() { h.n.dialing-- })
		return nil, fmt.Errorf("faultnet: %s: %w", h.name, err)
	}
	local := c.LocalAddr().String()
	h.n.update(func() {
		h.n.dialing--
		h.n.dialers[local] = h.name
	})
	fc := h.n.track(c, h.name)
	fc.resolve = func() string { return to }
	fc.forget = func() {
		h.n.mu.Lock()
		delete(h.n.dialers, local)
		h.n.mu.Unlock()
	}
	return fc, nil
}

type listener struct {
	net.Listener
	h *Host
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	fc := l.h.n.track(c, l.h.name)
	remote := c.RemoteAddr().String()
	fc.resolve = func() string { return l.h.n.dialer(remote) }
	return fc, nil
}

func (n *Network) track(c net.Conn, from string) *conn {
	fc := &conn{Conn: c, n: n, from: from, forget: func() {}, closed: make(chan struct{})}
	n.mu.Lock()
	n.conns[fc] = struct{}{}
	n.mu.Unlock()
	return fc
}

// conn is one end of a connection: it applies the link from its host to
// the peer's to what it writes. The other end does the same the other way.
type conn struct {
	net.Conn
	n       *Network
	from    string
	resolve func() string // finds the peer host, once
	forget  func()

	peerOnce sync.Once
	resolved atomic.Bool
	to       string

	wmu     sync.Mutex // orders writes
	queue   chan delayed
	pending int // writes queued and not yet written; under wmu
	lostMu  sync.Mutex
	dropped bool
	err     error // the first error of a delayed write; under lostMu

	closeOnce sync.Once
	closed    chan struct{} // closed by Close
	// held: closed here while the link to the peer was cut, so the socket
	// is kept open and silent until a heal resets it; under lostMu.
	held bool
}

type delayed struct {
	at time.Time
	b  []byte
}

// peer is the host at the other end, or "" when it is outside the network.
func (c *conn) peer() string {
	c.peerOnce.Do(func() {
		c.to = c.resolve()
		c.resolved.Store(true)
	})
	return c.to
}

// knownPeer is peer if it has been found already, else "": it never waits.
func (c *conn) knownPeer() string {
	if !c.resolved.Load() {
		return ""
	}
	return c.peer()
}

// holdOpen reports whether Close must keep the socket open: it was held
// already, or the link to the peer is cut, and then it is held now and
// counts as having lost data, so that a heal resets it.
func (c *conn) holdOpen() bool {
	to := c.knownPeer()
	cut := to != "" && c.n.state(c.from, to).cut // n.mu before lostMu, as heal takes them
	c.lostMu.Lock()
	defer c.lostMu.Unlock()
	if !c.held && cut {
		c.held, c.dropped = true, true
	}
	return c.held
}

func (c *conn) lost() bool {
	c.lostMu.Lock()
	defer c.lostMu.Unlock()
	return c.dropped
}

// Read reads from the peer; after Close it fails with net.ErrClosed, as a
// closed connection's Read does, even while the socket is held open.
func (c *conn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if err != nil && c.isClosed() {
		return n, net.ErrClosed
	}
	return n, err
}

func (c *conn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// Write sends b over the link to the peer: at once, late, or not at all.
func (c *conn) Write(b []byte) (int, error) {
	to := c.peer()
	if to == "" {
		return c.Conn.Write(b)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.isClosed() {
		return 0, net.ErrClosed
	}
	c.lostMu.Lock()
	err := c.err
	c.lostMu.Unlock()
	if err != nil {
		return 0, err
	}
	st := c.n.state(c.from, to)
	switch {
	case st.cut:
		c.lostMu.Lock()
		c.dropped = true
		c.lostMu.Unlock()
		return len(b), nil
	case st.delay > 0 || st.held || c.pending > 0:
		// Delayed, held, or behind such writes: queue, in order.
		if c.queue == nil {
			c.queue = make(chan delayed, 1024)
			go c.deliver()
		}
		c.pending++
		select {
		case c.queue <- delayed{at: time.Now().Add(st.delay), b: slices.Clone(b)}:
			return len(b), nil
		case <-c.closed:
			c.pending--
			return 0, net.ErrClosed
		}
	default:
		return c.Conn.Write(b)
	}
}

// deliver writes the queued writes, each when its time has come.
func (c *conn) deliver() {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		var d delayed
		select {
		case d = <-c.queue:
		case <-c.closed:
			return
		}
		if wait := time.Until(d.at); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-c.closed:
				return
			}
		}
		if !c.n.waitReleased(c.from, c.to, c.closed) {
			return
		}
		_, err := c.Conn.Write(d.b)
		c.wmu.Lock()
		c.pending--
		c.wmu.Unlock()
		if err != nil {
			c.lostMu.Lock()
			if c.err == nil {
				c.err = err
			}
			c.lostMu.Unlock()
			_ = c.reset()
			return
		}
	}
}

// Close closes the connection and forgets it. While the link to the peer
// is cut, the peer is not told, as no FIN crosses a partition: the socket
// stays open and silent, counted as having lost data, until a heal of the
// link resets it.
func (c *conn) Close() error {
	if !c.holdOpen() {
		return c.reset()
	}
	// Mark the connection closed, then wake this side's blocked Reads and
	// Writes: in that order, so that each sees ErrClosed, not the timeout.
	c.closeOnce.Do(func() {
		close(c.closed)
		c.forget()
	})
	_ = c.Conn.SetDeadline(time.Unix(1, 0))
	return nil
}

// reset closes the socket, which the peer sees, and forgets the
// connection.
func (c *conn) reset() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() {
		close(c.closed)
		c.forget()
	})
	c.n.mu.Lock()
	delete(c.n.conns, c)
	c.n.mu.Unlock()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// ListenPacket opens a datagram endpoint on addr for the other hosts'
// packets, such as gossip's. Packets travel in memory, never through the
// kernel, and are lost as UDP datagrams are: when the link is cut, or when
// the receiver falls packetBuffer packets behind. addr must name a port,
// typically the one of a TCP listener of the same host, as gossip uses one
// port for both.
func (h *Host) ListenPacket(addr string) (net.PacketConn, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil || ua.Port == 0 {
		return nil, fmt.Errorf("faultnet: %s: packet address %q: want ip:port with a port", h.name, addr)
	}
	key := ua.String()
	pc := &packetConn{n: h.n, host: h.name, addr: ua, in: make(chan packet, packetBuffer), closed: make(chan struct{})}
	var taken bool
	h.n.update(func() {
		if _, taken = h.n.packets[key]; !taken {
			if h.n.packets == nil {
				h.n.packets = map[string]*packetConn{}
			}
			h.n.packets[key] = pc
		}
	})
	if taken {
		return nil, fmt.Errorf("faultnet: %s: packet address %s is in use", h.name, key)
	}
	return pc, nil
}

// packetBuffer is how many packets an endpoint holds before it drops more.
const packetBuffer = 1024

type packet struct {
	b    []byte
	from *net.UDPAddr
}

// packetConn is an in-memory datagram endpoint.
type packetConn struct {
	n         *Network
	host      string
	addr      *net.UDPAddr
	in        chan packet
	closeOnce sync.Once
	closed    chan struct{}

	mu       sync.Mutex
	deadline time.Time // read deadline
}

// ReadFrom waits for the next packet.
func (p *packetConn) ReadFrom(b []byte) (int, net.Addr, error) {
	p.mu.Lock()
	deadline := p.deadline
	p.mu.Unlock()
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case pk := <-p.in:
		return copy(b, pk.b), pk.from, nil
	case <-p.closed:
		return 0, nil, net.ErrClosed
	case <-timeout:
		return 0, nil, os.ErrDeadlineExceeded
	}
}

// WriteTo sends b to the endpoint at addr over the link to its host: at
// once, late, or not at all. Like UDP, it does not say which.
func (p *packetConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	select {
	case <-p.closed:
		return 0, net.ErrClosed
	default:
	}
	p.n.mu.Lock()
	to := p.n.packets[addr.String()]
	var st state
	if to != nil {
		st = p.n.links[link{p.host, to.host}]
	}
	p.n.mu.Unlock()
	if to == nil || st.cut || st.held {
		return len(b), nil
	}
	pk := packet{b: slices.Clone(b), from: p.addr}
	if st.delay > 0 {
		time.AfterFunc(st.delay, func() { to.deliver(pk) })
	} else {
		to.deliver(pk)
	}
	return len(b), nil
}

func (p *packetConn) deliver(pk packet) {
	select {
	case p.in <- pk:
	default: // the receiver is behind: the datagram is lost
	}
}

// Close closes the endpoint and frees its address.
func (p *packetConn) Close() error {
	p.closeOnce.Do(func() {
		close(p.closed)
		p.n.update(func() {
			if p.n.packets[p.addr.String()] == p {
				delete(p.n.packets, p.addr.String())
			}
		})
	})
	return nil
}

// LocalAddr is the endpoint's address.
func (p *packetConn) LocalAddr() net.Addr { return p.addr }

// SetDeadline sets the read deadline; writes never block.
func (p *packetConn) SetDeadline(t time.Time) error { return p.SetReadDeadline(t) }

// SetReadDeadline bounds the ReadFrom calls that start afterwards.
func (p *packetConn) SetReadDeadline(t time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deadline = t
	return nil
}

// SetWriteDeadline does nothing: writes never block.
func (p *packetConn) SetWriteDeadline(time.Time) error { return nil }
