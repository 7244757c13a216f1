package gameclient

import (
	"context"
	"errors"
	"slices"
	"time"

	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// Cluster returns the latest cluster status received: never nil, empty
// before the first one arrives. It is shared: do not modify it.
func (c *Client) Cluster() *pb.ClusterStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// clusterWatcher is one WatchCluster caller.
type clusterWatcher struct {
	ch chan *pb.ClusterStatus // 1-slot mailbox, written under Client.mu
}

// WatchCluster delivers the current cluster status (once one is known),
// then every change. A slow reader gets the latest status: older ones it
// has not taken are dropped. The channel is closed when ctx ends or the
// client is closed.
func (c *Client) WatchCluster(ctx context.Context) <-chan *pb.ClusterStatus {
	w := &clusterWatcher{ch: make(chan *pb.ClusterStatus, 1)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		close(w.ch)
		return w.ch
	}
	c.watchers[w] = struct{}{}
	if c.haveStatus {
		putLatest(w.ch, c.status)
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		select {
		case <-ctx.Done():
		case <-c.ctx.Done():
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.watchers, w)
		close(w.ch)
	}()
	return w.ch
}

// watchClusterLoop keeps one Cluster.WatchStatus stream open, moving to
// another backend with backoff whenever it breaks, until Close.
func (c *Client) watchClusterLoop() {
	defer c.wg.Done()
	bo := backoff{min: 50 * time.Millisecond, max: time.Second}
	skip := map[string]bool{}
	for c.ctx.Err() == nil {
		addr, ok := c.pick(followersFirst, skip)
		if !ok {
			return
		}
		got, err := c.watchStatusOn(addr)
		if c.ctx.Err() != nil {
			return
		}
		if got {
			bo.reset()
		}
		if transportFailure(err) {
			c.markFailed(addr)
		}
		// Move on to another backend; the one that broke is tried again last.
		clear(skip)
		skip[addr] = true
		c.log.Debug("cluster status stream ended; reopening elsewhere", "backend", addr, "err", err)
		if !sleep(c.ctx, bo.next()) {
			return
		}
	}
}

// watchStatusOn reads one WatchStatus stream from addr until it breaks;
// got reports whether at least one status arrived.
func (c *Client) watchStatusOn(addr string) (got bool, err error) {
	bc, err := c.conn(addr)
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	start := time.Now()
	req := &pb.StatusRequest{}
	stream, err := bc.cluster.WatchStatus(ctx, req)
	if err == nil {
		// A backend that takes the stream but never answers is left after AttemptTimeout.
		first := time.AfterFunc(c.cfg.AttemptTimeout, cancel)
		for {
			var st *pb.ClusterStatus
			st, err = stream.Recv()
			if err != nil {
				first.Stop()
				break
			}
			if !got {
				first.Stop()
				got = true
				c.markOK(addr)
			}
			c.record(Op{Method: pb.Cluster_WatchStatus_FullMethodName, Request: req, Reply: st, Start: start, End: time.Now(), Node: addr})
			c.setStatus(st)
		}
	}
	if got {
		c.mu.Lock()
		c.statusLive, c.statusLost = false, time.Now()
		c.mu.Unlock()
	}
	if c.ctx.Err() == nil {
		c.record(Op{Method: pb.Cluster_WatchStatus_FullMethodName, Request: req, Err: err, Start: start, End: time.Now(), Node: addr})
	}
	return got, err
}

// setStatus installs a new cluster status: the candidate addresses, the
// leader, which backends are down; then tells the watchers and ends room
// streams served by backends reported down.
func (c *Client) setStatus(st *pb.ClusterStatus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.status, c.haveStatus, c.statusLive = st, true, true
	addrs := slices.Clone(c.seeds)
	clear(c.down)
	c.leaderAddr = ""
	for _, n := range st.GetNodes() {
		addr := n.GetGrpcAddr()
		if addr == "" {
			continue
		}
		if !slices.Contains(addrs, addr) {
			addrs = append(addrs, addr)
		}
		if n.GetId() == st.GetLeaderId() && st.GetLeaderId() != "" {
			c.leaderAddr = addr
		}
		switch {
		case n.GetRole() == "down", n.GetSerfStatus() == "failed", n.GetSerfStatus() == "left":
			c.down[addr] = true
		}
	}
	slices.Sort(addrs)
	c.addrs = addrs
	for w := range c.watchers {
		putLatest(w.ch, st)
	}
	for addr := range c.down {
		for s := range c.streams[addr] {
			s.cancel(errBackendDown)
		}
	}
}

// errBackendDown ends a room stream whose backend the cluster reports down.
var errBackendDown = errors.New("gameclient: backend reported down by the cluster status")

// putLatest puts v into a 1-slot mailbox, replacing a value the reader
// has not taken yet. Callers serialize their puts to one mailbox.
func putLatest[T any](ch chan T, v T) {
	for {
		select {
		case ch <- v:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}
