package membership

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// Network opens the connections and datagram endpoints gossip uses, in
// place of memberlist's own TCP and UDP sockets. Tests plug in a network
// that can cut, delay or heal links between nodes.
type Network interface {
	// Listen listens for gossip's streams on addr (ip:port, port 0 for any).
	Listen(addr string) (net.Listener, error)
	// Dial connects to the gossip stream listener at addr.
	Dial(ctx context.Context, addr string) (net.Conn, error)
	// ListenPacket opens the datagram endpoint at addr (ip:port, with the
	// port of the stream listener).
	ListenPacket(addr string) (net.PacketConn, error)
}

// transport is a memberlist.Transport over a Network.
type transport struct {
	ln       net.Listener
	pc       net.PacketConn
	dial     func(ctx context.Context, addr string) (net.Conn, error)
	packetCh chan *memberlist.Packet
	streamCh chan net.Conn
	stop     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
}

// newTransport listens on bind (ip:port) for streams and, on the port it
// got, for datagrams.
func newTransport(n Network, bind string) (*transport, error) {
	ln, err := n.Listen(bind)
	if err != nil {
		return nil, fmt.Errorf("membership: listen for gossip on %s: %w", bind, err)
	}
	pc, err := n.ListenPacket(ln.Addr().String())
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("membership: gossip datagrams on %s: %w", ln.Addr(), err)
	}
	t := &transport{
		ln: ln, pc: pc, dial: n.Dial,
		packetCh: make(chan *memberlist.Packet),
		streamCh: make(chan net.Conn),
		stop:     make(chan struct{}),
	}
	t.wg.Add(2)
	go t.readPackets()
	go t.acceptStreams()
	return t, nil
}

// FinalAdvertiseAddr implements memberlist.Transport: the configured
// address if any, else the address listened on.
func (t *transport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	bound := t.ln.Addr().(*net.TCPAddr)
	if port == 0 {
		port = bound.Port
	}
	if ip == "" {
		return bound.IP, port, nil
	}
	parsed := net.ParseIP(ip)
	if parsed == nil {
		return nil, 0, fmt.Errorf("membership: advertise address %q is not an IP", ip)
	}
	return parsed, port, nil
}

// WriteTo implements memberlist.Transport.
func (t *transport) WriteTo(b []byte, addr string) (time.Time, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return time.Time{}, fmt.Errorf("membership: gossip to %s: %w", addr, err)
	}
	if _, err := t.pc.WriteTo(b, ua); err != nil {
		return time.Time{}, fmt.Errorf("membership: gossip to %s: %w", addr, err)
	}
	return time.Now(), nil
}

// PacketCh implements memberlist.Transport.
func (t *transport) PacketCh() <-chan *memberlist.Packet { return t.packetCh }

// DialTimeout implements memberlist.Transport.
func (t *transport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return t.dial(ctx, addr)
}

// StreamCh implements memberlist.Transport.
func (t *transport) StreamCh() <-chan net.Conn { return t.streamCh }

// Shutdown implements memberlist.Transport: it closes the listener and the
// endpoint and waits for their loops.
func (t *transport) Shutdown() error {
	var err error
	t.once.Do(func() {
		close(t.stop)
		err = errors.Join(t.ln.Close(), t.pc.Close())
		t.wg.Wait()
	})
	return err
}

func (t *transport) readPackets() {
	defer t.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := t.pc.ReadFrom(buf)
		now := time.Now()
		if err != nil {
			if t.over(err) {
				return
			}
			continue
		}
		if n < 1 {
			continue // memberlist needs at least a message type
		}
		p := &memberlist.Packet{Buf: append([]byte(nil), buf[:n]...), From: from, Timestamp: now}
		select {
		case t.packetCh <- p:
		case <-t.stop:
			return
		}
	}
}

func (t *transport) acceptStreams() {
	defer t.wg.Done()
	for {
		c, err := t.ln.Accept()
		if err != nil {
			if t.over(err) {
				return
			}
			continue
		}
		select {
		case t.streamCh <- c:
		case <-t.stop:
			_ = c.Close()
			return
		}
	}
}

// over reports whether a loop that met err is to end: the transport is
// shutting down or its socket is closed. Otherwise it waits a moment before
// the loop tries again, so a lasting error does not spin.
func (t *transport) over(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return true
	}
	pause := time.NewTimer(10 * time.Millisecond)
	defer pause.Stop()
	select {
	case <-t.stop:
		return true
	case <-pause.C:
		return false
	}
}
