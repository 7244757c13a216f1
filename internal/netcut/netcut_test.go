package netcut

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// pair opens a listener on a and a connection from b to it, and returns
// both ends.
func pair(t *testing.T, a, b *Network) (accepted, dialed net.Conn) {
	t.Helper()
	ln, err := a.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	got := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			got <- c
		}
		close(got)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dialed, err = b.Dial(ctx, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dialed.Close() })
	accepted = <-got
	if accepted == nil {
		t.Fatal("no connection accepted")
	}
	t.Cleanup(func() { _ = accepted.Close() })
	return accepted, dialed
}

// readFails waits until a read on c fails, as it does on a closed
// connection or one the peer closed.
func readFails(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var buf [1]byte
	_, err := c.Read(buf[:])
	if err == nil {
		t.Fatal("read succeeded on a connection the cut should have closed")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("read timed out: the connection was not closed by the cut")
	}
}

func TestCutClosesOpenConnectionsBothWays(t *testing.T) {
	cut, other := New(), New()
	// One connection the cut node accepted, one it dialed.
	acceptedHere, dialedThere := pair(t, cut, other)
	acceptedThere, dialedHere := pair(t, other, cut)
	if got := cut.Open(); got != 2 {
		t.Fatalf("Open = %d before the cut, want 2", got)
	}
	cut.CutFor(time.Hour)
	if !cut.Cut() {
		t.Fatal("Cut() = false right after CutFor")
	}
	if got := cut.Open(); got != 0 {
		t.Errorf("Open = %d after the cut, want 0", got)
	}
	// Both ends of both connections see them closed.
	for _, c := range []net.Conn{acceptedHere, dialedThere, acceptedThere, dialedHere} {
		readFails(t, c)
	}
}

func TestCutRefusesNewConnectionsUntilHealed(t *testing.T) {
	cut, other := New(), New()
	lnHere, err := cut.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lnHere.Close()
	lnThere, err := other.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lnThere.Close()
	cut.CutFor(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	// Outgoing: refused at once.
	if _, err := cut.Dial(ctx, lnThere.Addr().String()); !errors.Is(err, ErrCut) {
		t.Errorf("dial out while cut: err = %v, want ErrCut", err)
	}
	// Incoming: the kernel completes the handshake, the node closes it.
	c, err := other.Dial(ctx, lnHere.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := lnHere.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	readFails(t, c)
	_ = c.Close()

	cut.Heal()
	if cut.Cut() {
		t.Fatal("Cut() = true after Heal")
	}
	// The accept loop that dropped the connection made during the cut
	// takes the next one.
	c2, err := other.Dial(ctx, lnHere.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	select {
	case a := <-accepted:
		if a == nil {
			t.Fatal("the listener failed after the heal")
		}
		defer a.Close()
		if _, err := c2.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		var buf [1]byte
		if _, err := io.ReadFull(a, buf[:]); err != nil || buf[0] != 'x' {
			t.Fatalf("read after heal: %q, %v", buf, err)
		}
	case <-ctx.Done():
		t.Fatal("no connection accepted after the heal")
	}
	out, err := cut.Dial(ctx, lnThere.Addr().String())
	if err != nil {
		t.Fatalf("dial out after heal: %v", err)
	}
	_ = out.Close()
}

func TestCutEndsByItself(t *testing.T) {
	n := New()
	healed := n.Healed()
	n.CutFor(50 * time.Millisecond)
	if n.Until().IsZero() {
		t.Fatal("Until is zero during a cut")
	}
	select {
	case <-healed:
	case <-time.After(5 * time.Second):
		t.Fatal("the cut did not end")
	}
	if n.Cut() {
		t.Error("Cut() = true after the cut ended")
	}
	if !n.Until().IsZero() {
		t.Error("Until is set after the cut ended")
	}
}

func TestCutDropsDatagramsBothWays(t *testing.T) {
	cut, other := New(), New()
	here, err := cut.ListenPacket("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer here.Close()
	there, err := other.ListenPacket("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer there.Close()
	// The cut node reads all the time, as gossip does.
	read := make(chan string, 4)
	go func() {
		buf := make([]byte, 16)
		for {
			k, _, err := here.ReadFrom(buf)
			if err != nil {
				close(read)
				return
			}
			read <- string(buf[:k])
		}
	}()
	cut.CutFor(time.Hour)
	// Sent from the cut node: dropped, though the write reports success.
	if k, err := here.WriteTo([]byte("lost"), there.LocalAddr()); err != nil || k != 4 {
		t.Fatalf("WriteTo while cut = %d, %v; want 4, nil", k, err)
	}
	// Sent to the cut node: it arrives at the socket and is dropped there.
	if _, err := there.WriteTo([]byte("lost"), here.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(5 * time.Second)
	for cut.Dropped() < 2 {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("dropped %d datagrams, want 2", cut.Dropped())
		}
	}
	cut.Heal()
	// After the heal, datagrams pass both ways. (UDP on loopback does not
	// lose datagrams.)
	if _, err := there.WriteTo([]byte("in"), here.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-read:
		if got != "in" {
			t.Errorf("the cut node read %q after the heal, want the datagram sent after it", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing arrived after the heal")
	}
	if _, err := here.WriteTo([]byte("out"), there.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	_ = there.SetReadDeadline(time.Now().Add(5 * time.Second))
	k, _, err := there.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(buf[:k]); got != "out" {
		t.Errorf("the other node read %q, want the datagram sent after the heal", got)
	}
}
