package rpc

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/gallows-game/gallows/backend/internal/membership"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// statusTimeout bounds how long a status call waits for one peer.
const statusTimeout = 500 * time.Millisecond

// statusEvery is how often WatchStatus looks for a change.
const statusEvery = 250 * time.Millisecond

type clusterService struct {
	pb.UnimplementedClusterServer
	cfg Config
}

func (c *clusterService) LocalStatus(context.Context, *pb.StatusRequest) (*pb.NodeStatus, error) {
	return c.local(), nil
}

func (c *clusterService) local() *pb.NodeStatus {
	st := c.cfg.Store.Stats()
	ns := &pb.NodeStatus{
		Id:          st.ID,
		Role:        strings.ToLower(st.State),
		Term:        st.Term,
		LastIndex:   st.LastIndex,
		CommitIndex: st.CommitIndex,
		// Raft's applied index also counts entries the game state never
		// sees (a new leader's no-op, configuration changes).
		AppliedIndex: max(st.AppliedIndex, st.RaftAppliedIndex),
		LeaderId:     st.LeaderID,
	}
	if v, err := c.cfg.Store.IsVoter(st.ID); err == nil {
		ns.Voter = v
	}
	for _, p := range c.cfg.Peers.Peers() {
		if p.ID == st.ID {
			ns.SerfStatus, ns.RaftAddr, ns.GrpcAddr, ns.HttpAddr = p.SerfStatus, p.RaftAddr, p.GRPCAddr, p.HTTPAddr
		}
	}
	return ns
}

func (c *clusterService) ReadIndex(context.Context, *pb.ReadIndexRequest) (*pb.ReadIndexReply, error) {
	index, err := c.cfg.Store.ReadIndex()
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.ReadIndexReply{Index: index}, nil
}

func (c *clusterService) Status(ctx context.Context, _ *pb.StatusRequest) (*pb.ClusterStatus, error) {
	return c.gather(ctx), nil
}

// gather asks every peer for its own status, in parallel; a peer that does
// not answer in time is reported as down, a voter if this node's Raft
// configuration has it as one.
func (c *clusterService) gather(ctx context.Context) *pb.ClusterStatus {
	peers := c.cfg.Peers.Peers()
	out := &pb.ClusterStatus{ServedBy: c.cfg.ID, Nodes: make([]*pb.NodeStatus, len(peers))}
	out.LeaderId, _ = c.cfg.Store.Leader()
	// One read of the configuration for every peer. Without one (the
	// store is stopping) no silent peer is known to be a voter, and a
	// client then counts none of them as up.
	voters, err := c.cfg.Store.Voters()
	if err != nil {
		voters = nil
	}
	var wg sync.WaitGroup
	for i, p := range peers {
		if p.ID == c.cfg.ID {
			out.Nodes[i] = c.local()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns := &pb.NodeStatus{Id: p.ID, Role: "down", SerfStatus: p.SerfStatus,
				RaftAddr: p.RaftAddr, GrpcAddr: p.GRPCAddr, HttpAddr: p.HTTPAddr}
			// A peer that does not answer is a voter if this node's Raft
			// configuration says so: what a client needs to tell how many
			// voters are up.
			ns.Voter = slices.Contains(voters, p.ID)
			defer func() { out.Nodes[i] = ns }()
			cc, err := c.cfg.Conns.Get(p.GRPCAddr)
			if err != nil {
				return
			}
			pctx, cancel := context.WithTimeout(ctx, statusTimeout)
			defer cancel()
			remote, err := pb.NewClusterClient(cc).LocalStatus(pctx, &pb.StatusRequest{})
			if err != nil {
				return
			}
			remote.SerfStatus = p.SerfStatus
			ns = remote
		}()
	}
	wg.Wait()
	return out
}

func (c *clusterService) WatchStatus(_ *pb.StatusRequest, stream pb.Cluster_WatchStatusServer) error {
	ctx := stream.Context()
	t := time.NewTicker(statusEvery)
	defer t.Stop()
	var last *pb.ClusterStatus
	for {
		st := c.gather(ctx)
		if last == nil || !proto.Equal(st, last) {
			if err := stream.Send(st); err != nil {
				return err
			}
			last = st
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil
		}
	}
}

// Keyring runs a gossip keyring operation on every member.
func (c *clusterService) Keyring(_ context.Context, req *pb.KeyringRequest) (*pb.KeyringReply, error) {
	if c.cfg.Keyring == nil {
		return nil, status.Error(codes.FailedPrecondition, "gossip is not encrypted on this node")
	}
	ops := map[pb.KeyringRequest_Op]membership.KeyOp{
		pb.KeyringRequest_OP_LIST: membership.KeyList, pb.KeyringRequest_OP_INSTALL: membership.KeyInstall,
		pb.KeyringRequest_OP_USE: membership.KeyUse, pb.KeyringRequest_OP_REMOVE: membership.KeyRemove,
	}
	op, ok := ops[req.GetOp()]
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument, "keyring: unknown operation %v", req.GetOp())
	}
	if (op == membership.KeyList) != (req.GetKey() == "") {
		return nil, status.Error(codes.InvalidArgument, "keyring: install, use and remove need a key; list takes none")
	}
	res, err := c.cfg.Keyring.Keyring(op, req.GetKey())
	reply := &pb.KeyringReply{
		Members: int32(res.Members), Responses: int32(res.Responses),
		Keys: counts(res.Keys), PrimaryKeys: counts(res.PrimaryKeys), Failures: res.Failures,
	}
	if err != nil {
		c.cfg.Logger.Warn("keyring operation failed", "op", req.GetOp().String(), "err", err)
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	}
	c.cfg.Logger.Info("keyring operation done", "op", req.GetOp().String(), "members", res.Members)
	return reply, nil
}

func counts(m map[string]int) map[string]int32 {
	out := make(map[string]int32, len(m))
	for k, v := range m {
		out[k] = int32(v)
	}
	return out
}
