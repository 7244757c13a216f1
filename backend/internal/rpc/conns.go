package rpc

import (
	"errors"
	"fmt"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// Conns keeps one gRPC client connection per address and reuses it.
type Conns struct {
	mu     sync.Mutex
	conns  map[string]*grpc.ClientConn
	opts   []grpc.DialOption
	closed bool
}

// NewConns returns an empty pool. Its connections use creds (nil:
// plaintext) and are kept alive as the servers' policy allows; opts are
// added to every one.
func NewConns(creds credentials.TransportCredentials, opts ...grpc.DialOption) *Conns {
	if creds == nil {
		creds = insecure.NewCredentials()
	}
	return &Conns{
		conns: map[string]*grpc.ClientConn{},
		opts: append([]grpc.DialOption{
			grpc.WithTransportCredentials(creds),
			grpc.WithKeepaliveParams(pb.Keepalive),
		}, opts...),
	}
}

// Get returns the connection to addr, creating it on first use.
func (c *Conns) Get(addr string) (*grpc.ClientConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errors.New("rpc: connection pool closed")
	}
	if cc, ok := c.conns[addr]; ok {
		return cc, nil
	}
	// passthrough: the dialer resolves the host name at every connection
	// attempt. gRPC's default dns resolver backs off for up to two minutes
	// after lookups fail (a stopped container's name does not resolve), so
	// a peer that came back would stay unreachable that long.
	cc, err := grpc.NewClient("passthrough:///"+addr, c.opts...)
	if err != nil {
		return nil, fmt.Errorf("rpc: connect to %s: %w", addr, err)
	}
	c.conns[addr] = cc
	return cc, nil
}

// Close closes every connection.
func (c *Conns) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var errs []error
	for addr, cc := range c.conns {
		errs = append(errs, cc.Close())
		delete(c.conns, addr)
	}
	return errors.Join(errs...)
}
