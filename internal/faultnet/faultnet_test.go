package faultnet_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gallows-game/gallows/internal/faultnet"
)

// listen listens for host and returns the address and the connections it
// accepts; everything is closed when the test ends.
func listen(t *testing.T, n *faultnet.Network, host string) (string, <-chan net.Conn) {
	t.Helper()
	ln, err := n.Host(host).Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 16)
	go func() {
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		for c := range accepted {
			_ = c.Close()
		}
	})
	return ln.Addr().String(), accepted
}

// accept returns the next connection accepted.
func accept(t *testing.T, accepted <-chan net.Conn) net.Conn {
	t.Helper()
	select {
	case c := <-accepted:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no connection accepted")
		return nil
	}
}

// pair connects host a to a listener of host b and returns both ends.
func pair(t *testing.T, n *faultnet.Network, a, b string) (atA, atB net.Conn) {
	t.Helper()
	addr, accepted := listen(t, n, b)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	atA, err := n.Host(a).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = atA.Close() })
	return atA, accept(t, accepted)
}

// talking connects host a to host b, has a line go across, and returns
// both ends and the reader of b's.
func talking(t *testing.T, n *faultnet.Network) (a, b net.Conn, br *bufio.Reader) {
	t.Helper()
	a, b = pair(t, n, "a", "b")
	send(t, a, "before")
	br = bufio.NewReader(b)
	if got := readLine(t, br); got != "before" {
		t.Fatalf("b read %q", got)
	}
	return a, b, br
}

func send(t *testing.T, c net.Conn, line string) {
	t.Helper()
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		t.Fatalf("write %q: %v", line, err)
	}
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return strings.TrimSuffix(line, "\n")
}

// readUntilClosed reads until the connection ends and returns what came.
func readUntilClosed(t *testing.T, c net.Conn, r io.Reader) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the connection was not reset (read so far: %q)", b)
	}
	return string(b)
}

func TestLinkUpDeliversBothWays(t *testing.T) {
	n := faultnet.New()
	a, b := pair(t, n, "a", "b")
	send(t, a, "ping")
	if got := readLine(t, bufio.NewReader(b)); got != "ping" {
		t.Fatalf("b read %q", got)
	}
	send(t, b, "pong")
	if got := readLine(t, bufio.NewReader(a)); got != "pong" {
		t.Fatalf("a read %q", got)
	}
}

// A cut loses what is sent across it; healing resets the connections that
// lost data, so the receiver sees the stream end and never the lost bytes.
func TestCutLosesDataAndHealResets(t *testing.T) {
	for _, tc := range []struct {
		name string
		cut  func(n *faultnet.Network)
		heal func(n *faultnet.Network)
	}{
		{"cut and heal", func(n *faultnet.Network) { n.Cut("a", "b") }, func(n *faultnet.Network) { n.Heal("a", "b") }},
		{"isolate and heal all", func(n *faultnet.Network) { n.Isolate("a") }, func(n *faultnet.Network) { n.HealAll() }},
		{"one way", func(n *faultnet.Network) { n.CutOneWay("a", "b") }, func(n *faultnet.Network) { n.Heal("b", "a") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := faultnet.New()
			a, b, br := talking(t, n)
			tc.cut(n)
			send(t, a, "lost") // the sender is not told
			tc.heal(n)
			if got := readUntilClosed(t, b, br); got != "" {
				t.Fatalf("b read %q across the cut", got)
			}
		})
	}
}

// A connection closed across a cut is closed at once for its own side,
// but its peer, like a peer across a partition, hears nothing until the
// link heals and resets it.
func TestCloseAcrossACutIsHeardOnlyAfterTheHeal(t *testing.T) {
	n := faultnet.New()
	a, b, br := talking(t, n)
	n.Cut("a", "b")
	readErr := make(chan error, 1)
	go func() {
		_, err := a.Read(make([]byte, 1))
		readErr <- err
	}()
	if err := a.Close(); err != nil {
		t.Fatalf("close across the cut: %v", err)
	}
	select {
	case err := <-readErr:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("a's blocked Read after its Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a's blocked Read did not return after its Close")
	}
	if _, err := a.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("a's Write after its Close: %v, want net.ErrClosed", err)
	}
	// b waits a while and must hear nothing: no end of stream, no reset.
	_ = b.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := br.ReadByte(); !isTimeout(err) {
		t.Fatalf("b's Read across the cut: %v, want a timeout", err)
	}
	_ = b.SetReadDeadline(time.Time{})
	n.Heal("a", "b")
	if got := readUntilClosed(t, b, br); got != "" {
		t.Fatalf("b read %q after the heal", got)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestOneWayCutKeepsTheOtherWay(t *testing.T) {
	n := faultnet.New()
	a, b := pair(t, n, "a", "b")
	n.CutOneWay("a", "b")
	send(t, b, "still here")
	if got := readLine(t, bufio.NewReader(a)); got != "still here" {
		t.Fatalf("a read %q", got)
	}
}

// A link that is cut but lost nothing goes on as before when it heals.
func TestHealWithoutLossKeepsConnections(t *testing.T) {
	n := faultnet.New()
	a, b := pair(t, n, "a", "b")
	n.Cut("a", "b")
	n.Heal("a", "b")
	send(t, a, "after")
	if got := readLine(t, bufio.NewReader(b)); got != "after" {
		t.Fatalf("b read %q", got)
	}
}

func TestDialWaitsForACutToHeal(t *testing.T) {
	n := faultnet.New()
	addr, _ := listen(t, n, "b")
	n.Cut("a", "b")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := n.Host("a").Dial(ctx, addr); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("dial across a cut: got %v, want the context's deadline", err)
	}

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := n.Host("a").Dial(ctx, addr)
		if err == nil {
			_ = c.Close()
		}
		done <- err
	}()
	n.Heal("a", "b")
	if err := <-done; err != nil {
		t.Fatalf("dial after the heal: %v", err)
	}
}

func TestDelayDeliversLateAndInOrder(t *testing.T) {
	const delay = 30 * time.Millisecond
	n := faultnet.New()
	a, b := pair(t, n, "a", "b")
	n.Delay("a", "b", delay)
	start := time.Now()
	send(t, a, "1")
	send(t, a, "2")
	n.Delay("a", "b", 0) // later writes still queue behind the delayed ones
	send(t, a, "3")
	br := bufio.NewReader(b)
	for _, want := range []string{"1", "2", "3"} {
		if got := readLine(t, br); got != want {
			t.Fatalf("read %q, want %q", got, want)
		}
	}
	if took := time.Since(start); took < delay {
		t.Fatalf("delayed writes arrived after %v, want at least %v", took, delay)
	}
	send(t, a, "4")
	if got := readLine(t, br); got != "4" {
		t.Fatalf("read %q, want 4", got)
	}
}

// A connection from outside the network (a plain dialer) is never faulted.
func TestOutsideConnectionsAreNotFaulted(t *testing.T) {
	n := faultnet.New()
	addr, accepted := listen(t, n, "b")
	plain, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	atB := accept(t, accepted)
	n.Isolate("b")
	send(t, atB, "hello")
	if got := readLine(t, bufio.NewReader(plain)); got != "hello" {
		t.Fatalf("read %q", got)
	}
}

// packetPair opens datagram endpoints for hosts a and b.
func packetPair(t *testing.T, n *faultnet.Network) (a, b net.PacketConn) {
	t.Helper()
	var pcs []net.PacketConn
	for _, h := range []string{"a", "b"} {
		// A free port, as gossip takes its TCP listener's.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		pc, err := n.Host(h).ListenPacket(addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pc.Close() })
		pcs = append(pcs, pc)
	}
	return pcs[0], pcs[1]
}

// readPacket returns the next packet within d, or "" when none comes.
func readPacket(t *testing.T, pc net.PacketConn, d time.Duration) (string, net.Addr) {
	t.Helper()
	_ = pc.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 64)
	n, from, err := pc.ReadFrom(buf)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return "", nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n]), from
}

func TestPackets(t *testing.T) {
	n := faultnet.New()
	a, b := packetPair(t, n)
	send := func(msg string) {
		t.Helper()
		if _, err := a.WriteTo([]byte(msg), b.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}

	send("one")
	if got, from := readPacket(t, b, 5*time.Second); got != "one" || from.String() != a.LocalAddr().String() {
		t.Fatalf("b read %q from %v, want one from %v", got, from, a.LocalAddr())
	}

	// Lost while the link is cut, like a datagram: the sender is not told.
	n.CutOneWay("a", "b")
	send("lost")
	if _, err := b.WriteTo([]byte("other way"), a.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if got, _ := readPacket(t, a, 5*time.Second); got != "other way" {
		t.Fatalf("a read %q, want the packet sent the other way", got)
	}
	n.HealAll()
	send("two")
	if got, _ := readPacket(t, b, 5*time.Second); got != "two" {
		t.Fatalf("b read %q after the heal, want two (and never the lost one)", got)
	}

	const delay = 30 * time.Millisecond
	n.Delay("a", "b", delay)
	start := time.Now()
	send("late")
	if got, _ := readPacket(t, b, 5*time.Second); got != "late" || time.Since(start) < delay {
		t.Fatalf("b read %q after %v, want late after at least %v", got, time.Since(start), delay)
	}
}

func TestListenPacketRefusesBadAddresses(t *testing.T) {
	n := faultnet.New()
	a, _ := packetPair(t, n)
	for _, addr := range []string{"127.0.0.1:0", "nonsense", a.LocalAddr().String()} {
		if pc, err := n.Host("c").ListenPacket(addr); err == nil {
			_ = pc.Close()
			t.Errorf("ListenPacket(%q) succeeded", addr)
		}
	}
}

// A frozen host's traffic, both ways, waits while it is frozen and all of
// it arrives, in order, once it thaws; its datagrams are lost.
func TestFreezeHoldsTrafficUntilThaw(t *testing.T) {
	n := faultnet.New()
	a, b, br := talking(t, n)
	ar := bufio.NewReader(a)
	n.Freeze("b")
	send(t, a, "1")
	send(t, b, "from b")
	send(t, a, "2")
	// Nothing arrives while b is frozen.
	_ = b.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if line, err := br.ReadString('\n'); err == nil {
		t.Fatalf("b read %q while frozen", line)
	}
	_ = b.SetReadDeadline(time.Time{})
	n.Thaw("b")
	for _, want := range []string{"1", "2"} {
		if got := readLine(t, br); got != want {
			t.Fatalf("b read %q after the thaw, want %q", got, want)
		}
	}
	if got := readLine(t, ar); got != "from b" {
		t.Fatalf("a read %q after the thaw, want %q", got, "from b")
	}
	send(t, a, "3")
	if got := readLine(t, br); got != "3" {
		t.Fatalf("b read %q, want 3", got)
	}
}
