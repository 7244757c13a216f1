package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/raft"
)

// Network opens the connections Raft uses. The default is plain TCP; tests
// substitute one that can cut, delay or heal links between nodes.
type Network interface {
	// Listen listens for Raft connections on addr.
	Listen(addr string) (net.Listener, error)
	// Dial connects to the Raft listener at addr.
	Dial(ctx context.Context, addr string) (net.Conn, error)
}

// TCP is the default Network.
type TCP struct{}

// Listen listens on a TCP address.
func (TCP) Listen(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }

// Dial dials a TCP address.
func (TCP) Dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// streamLayer adapts a Network to raft.StreamLayer.
type streamLayer struct {
	net.Listener
	network   Network
	advertise net.Addr
}

func newStreamLayer(n Network, bind, advertise string) (*streamLayer, error) {
	ln, err := n.Listen(bind)
	if err != nil {
		return nil, fmt.Errorf("listen for raft on %s: %w", bind, err)
	}
	adv := ln.Addr()
	if advertise != "" {
		host, port, err := net.SplitHostPort(advertise)
		if err == nil && (host == "" || port == "" || port == "0") {
			err = errors.New("empty host or port")
		}
		if err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("raft advertise address %q: want host:port with a reachable host: %w", advertise, err)
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			_ = ln.Close()
			return nil, fmt.Errorf("raft advertise address %q must name a reachable host", advertise)
		}
		adv = advertised(advertise)
	} else if tcp, ok := adv.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		_ = ln.Close()
		return nil, fmt.Errorf("raft address %s binds all interfaces: set an advertise address", bind)
	}
	return &streamLayer{Listener: ln, network: n, advertise: adv}, nil
}

// Addr is the address other nodes dial.
func (s *streamLayer) Addr() net.Addr { return s.advertise }

// Dial implements raft.StreamLayer.
func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return s.network.Dial(ctx, string(address))
}

// advertised is a host:port that may name a host (e.g. a container's
// service name) rather than an IP, so it stays valid across restarts.
type advertised string

// Network implements net.Addr.
func (a advertised) Network() string { return "tcp" }

// String implements net.Addr: the address as given.
func (a advertised) String() string { return string(a) }

// TLS returns n with every connection wrapped in TLS: the ones accepted
// handshake with server, the ones dialed with client. Raft then talks only
// to peers whose certificates server and client accept (the cluster's CA
// and role; see internal/pki). A refused handshake ends that connection
// only: the accept loop never waits on a handshake.
func TLS(n Network, server, client *tls.Config) Network {
	return tlsNetwork{inner: n, server: server, client: client}
}

type tlsNetwork struct {
	inner          Network
	server, client *tls.Config
}

// Listen implements Network: accepted connections handshake on first use.
func (t tlsNetwork) Listen(addr string) (net.Listener, error) {
	ln, err := t.inner.Listen(addr)
	if err != nil {
		return nil, err
	}
	return tls.NewListener(ln, t.server), nil
}

// Dial implements Network: the handshake completes, or fails, within ctx.
func (t tlsNetwork) Dial(ctx context.Context, addr string) (net.Conn, error) {
	c, err := t.inner.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	tc := tls.Client(c, t.client)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("tls handshake with %s: %w", addr, err)
	}
	return tc, nil
}
