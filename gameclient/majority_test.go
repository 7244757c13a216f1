package gameclient_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/gallows-game/gallows/gameclient"
	"github.com/gallows-game/gallows/internal/localcluster/localtest"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// fakeCluster streams one cluster status and keeps the stream open.
type fakeCluster struct {
	pb.UnimplementedClusterServer
	status *pb.ClusterStatus
}

func (f *fakeCluster) WatchStatus(_ *pb.StatusRequest, stream pb.Cluster_WatchStatusServer) error {
	if err := stream.Send(f.status); err != nil {
		return err
	}
	<-stream.Context().Done()
	return nil
}

// serveGameAndCluster serves game and cluster on one loopback port until
// stop is called or the test ends, and returns its address.
func serveGameAndCluster(t *testing.T, game pb.GameServer, cluster pb.ClusterServer) (addr string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	pb.RegisterGameServer(s, game)
	pb.RegisterClusterServer(s, cluster)
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
	return ln.Addr().String(), s.Stop
}

// node is a backend of a cluster status: a voter or not, its role and
// what serf says of it.
func node(id string, voter bool, role, serf string) *pb.NodeStatus {
	return &pb.NodeStatus{Id: id, Voter: voter, Role: role, SerfStatus: serf}
}

// TestGivingUpSaysWhetherAMajorityIsUp: a write given up on (no backend
// took it before the call's timeout) says NO_MAJORITY, with the counts,
// when the client's cluster status shows fewer than a majority of the
// voters up, and NO_QUORUM (a leader will come) otherwise.
func TestGivingUpSaysWhetherAMajorityIsUp(t *testing.T) {
	tests := []struct {
		name       string
		nodes      []*pb.NodeStatus
		wantReason pb.ErrorReason
		wantUp     int
		wantVoters int
	}{
		{"all up: an election", []*pb.NodeStatus{
			node("b1", true, "follower", "alive"), node("b2", true, "candidate", "alive"), node("b3", true, "follower", "alive"),
		}, pb.ErrorReason_ERROR_REASON_NO_QUORUM, 3, 3},
		{"two of three up", []*pb.NodeStatus{
			node("b1", true, "follower", "alive"), node("b2", true, "candidate", "alive"), node("b3", true, "down", "failed"),
		}, pb.ErrorReason_ERROR_REASON_NO_QUORUM, 2, 3},
		{"one of three up", []*pb.NodeStatus{
			node("b1", true, "candidate", "alive"), node("b2", true, "down", "failed"), node("b3", true, "down", "alive"),
		}, pb.ErrorReason_ERROR_REASON_NO_MAJORITY, 1, 3},
		{"answering, but serf has it failed", []*pb.NodeStatus{
			node("b1", true, "candidate", "alive"), node("b2", true, "follower", "failed"), node("b3", true, "down", "failed"),
		}, pb.ErrorReason_ERROR_REASON_NO_MAJORITY, 1, 3},
		{"two of five up, a non-voter aside", []*pb.NodeStatus{
			node("b1", true, "candidate", "alive"), node("b2", true, "follower", "alive"), node("b3", true, "down", "failed"),
			node("b4", true, "down", "failed"), node("b5", true, "down", "failed"), node("b6", false, "follower", "alive"),
		}, pb.ErrorReason_ERROR_REASON_NO_MAJORITY, 2, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &pb.ClusterStatus{Nodes: tt.nodes, ServedBy: "b1"}
			addr, _ := serveGameAndCluster(t, &fakeGame{noQuorum: -1}, &fakeCluster{status: st})
			c := fakeClient(t, &recorder{}, 300*time.Millisecond, addr)
			localtest.Poll(t, 10*time.Second, "the cluster status", func() bool { return proto.Equal(c.Cluster(), st) })
			if up, voters, ok := c.VotersUp(); !ok || up != tt.wantUp || voters != tt.wantVoters {
				t.Errorf("VotersUp = %d, %d, %v; want %d, %d, true", up, voters, ok, tt.wantUp, tt.wantVoters)
			}
			_, err := c.Guess(localtest.Context(t, 10*time.Second), &pb.GuessRequest{RoomId: "ABCDE", Player: "bo", PlayerId: gameclient.BotPlayerID("bo"), Letter: "e", RequestId: "bo-e"})
			if status.Code(err) != codes.Unavailable || gameclient.Reason(err) != tt.wantReason {
				t.Fatalf("err = %v, want Unavailable %v", err, tt.wantReason)
			}
			up, voters, ok := gameclient.NoMajority(err)
			if wantCounts := tt.wantReason == pb.ErrorReason_ERROR_REASON_NO_MAJORITY; ok != wantCounts || (ok && (up != tt.wantUp || voters != tt.wantVoters)) {
				t.Errorf("NoMajority = %d, %d, %v; want %d, %d, %v", up, voters, ok, tt.wantUp, tt.wantVoters, wantCounts)
			}
		})
	}
}

// A status whose stream broke a while ago, with no backend answering
// since, is stale: no voter counts as up any more.
func TestStaleStatusCountsNoVoterUp(t *testing.T) {
	st := &pb.ClusterStatus{Nodes: []*pb.NodeStatus{
		node("b1", true, "leader", "alive"), node("b2", true, "follower", "alive"), node("b3", true, "follower", "alive"),
	}}
	addr, stop := serveGameAndCluster(t, &fakeGame{noQuorum: -1}, &fakeCluster{status: st})
	c := fakeClient(t, &recorder{}, 300*time.Millisecond, addr)
	localtest.Poll(t, 10*time.Second, "the cluster status", func() bool { return proto.Equal(c.Cluster(), st) })
	if up, voters, ok := c.VotersUp(); !ok || up != 3 || voters != 3 {
		t.Fatalf("VotersUp with a live status = %d, %d, %v; want 3, 3, true", up, voters, ok)
	}
	stop()
	localtest.Poll(t, 10*time.Second, "the status to go stale", func() bool {
		up, voters, ok := c.VotersUp()
		return ok && up == 0 && voters == 3
	})
	if _, err := c.Guess(localtest.Context(t, 10*time.Second), &pb.GuessRequest{RoomId: "ABCDE", Player: "bo", PlayerId: gameclient.BotPlayerID("bo"), Letter: "e", RequestId: "bo-e"}); gameclient.Reason(err) != pb.ErrorReason_ERROR_REASON_NO_MAJORITY {
		t.Errorf("a guess with no backend reachable: %v, want NO_MAJORITY", err)
	}
}

// matchGame is a room in match 2 whose first Rematch answer is lost.
type matchGame struct {
	pb.UnimplementedGameServer
	mu      sync.Mutex
	matches []int32 // the Match of each Rematch request
	expired []uint64
}

func (g *matchGame) GetRoom(_ context.Context, req *pb.GetRoomRequest) (*pb.RoomReply, error) {
	return &pb.RoomReply{Room: &pb.Room{Id: req.GetRoomId(), Round: 3, Rounds: 3, Match: 2, MatchOver: true, Version: 9}}, nil
}

func (g *matchGame) Rematch(_ context.Context, req *pb.RematchRequest) (*pb.RoomReply, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.matches = append(g.matches, req.GetMatch())
	if len(g.matches) == 1 {
		return nil, status.Error(codes.Unavailable, "the reply was lost")
	}
	return &pb.RoomReply{Room: &pb.Room{Id: req.GetRoomId(), Round: 1, Rounds: 3, Match: 3, Version: 10}}, nil
}

func (g *matchGame) ExpireTurn(_ context.Context, req *pb.ExpireTurnRequest) (*pb.RoomReply, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.expired = append(g.expired, req.GetVersion())
	return &pb.RoomReply{Room: &pb.Room{Id: req.GetRoomId(), Version: req.GetVersion() + 1}}, nil
}

// A Rematch for "the match now" (Match 0) is pinned to the room's match
// before it is sent, so that its retry cannot start a second match; an
// expiry goes as it is, and its room counts as seen.
func TestRematchPinsTheMatchBeforeSending(t *testing.T) {
	g := &matchGame{}
	c := fakeClient(t, &recorder{}, 5*time.Second, startServer(t, g))
	room, err := c.Rematch(context.Background(), &pb.RematchRequest{RoomId: "ABCDE", Player: "ana", PlayerId: gameclient.BotPlayerID("ana")})
	if err != nil {
		t.Fatalf("rematch: %v", err)
	}
	if room.GetMatch() != 3 || room.GetRound() != 1 {
		t.Errorf("match %d round %d after the call, want match 3 round 1", room.GetMatch(), room.GetRound())
	}
	room, err = c.ExpireTurn(context.Background(), &pb.ExpireTurnRequest{RoomId: "ABCDE", Version: 10})
	if err != nil || room.GetVersion() != 11 || c.SeenVersion("ABCDE") != 11 {
		t.Errorf("expire turn: version %d (seen %d), %v; want 11", room.GetVersion(), c.SeenVersion("ABCDE"), err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.matches) != 2 || g.matches[0] != 2 || g.matches[1] != 2 {
		t.Fatalf("Rematch requests for matches %v, want [2 2]", g.matches)
	}
	if len(g.expired) != 1 || g.expired[0] != 10 {
		t.Fatalf("ExpireTurn requests for versions %v, want [10]", g.expired)
	}
}

// Without a majority no leader can be elected until voters come back, so
// a call does not wait out its whole timeout: it gives up with
// NO_MAJORITY after about noMajorityWait, for the caller to say why at
// once (and send the request again later).
func TestNoMajorityGivesUpEarly(t *testing.T) {
	st := &pb.ClusterStatus{Nodes: []*pb.NodeStatus{
		node("b1", true, "candidate", "alive"), node("b2", true, "down", "failed"), node("b3", true, "down", "failed"),
	}, ServedBy: "b1"}
	addr, _ := serveGameAndCluster(t, &fakeGame{noQuorum: -1}, &fakeCluster{status: st})
	const timeout = time.Minute
	c := fakeClient(t, &recorder{}, timeout, addr)
	localtest.Poll(t, 10*time.Second, "the cluster status", func() bool { return proto.Equal(c.Cluster(), st) })
	start := time.Now()
	_, err := c.Guess(localtest.Context(t, 2*timeout), &pb.GuessRequest{RoomId: "ABCDE", Player: "bo", PlayerId: gameclient.BotPlayerID("bo"), Letter: "e", RequestId: "bo-e"})
	took := time.Since(start)
	if gameclient.Reason(err) != pb.ErrorReason_ERROR_REASON_NO_MAJORITY {
		t.Fatalf("err = %v, want NO_MAJORITY", err)
	}
	if took > timeout/2 {
		t.Errorf("gave up after %v, want long before the %v timeout", took, timeout)
	}
	t.Logf("gave up with NO_MAJORITY after %v", took.Round(time.Millisecond))
}
