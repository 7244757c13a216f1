package main

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

func TestAgreedLeader(t *testing.T) {
	nodes := func(roles ...string) []*pb.NodeStatus {
		var out []*pb.NodeStatus
		for i, r := range roles {
			out = append(out, &pb.NodeStatus{Id: "b" + string(rune('1'+i)), Role: r})
		}
		return out
	}
	for _, tc := range []struct {
		name string
		st   *pb.ClusterStatus
		want string
	}{
		{"leader up", &pb.ClusterStatus{LeaderId: "b2", Nodes: nodes("follower", "leader", "follower")}, "b2"},
		// Right after a kill the survivors still name the dead leader.
		{"named leader down", &pb.ClusterStatus{LeaderId: "b2", Nodes: nodes("follower", "down", "follower")}, ""},
		{"election running", &pb.ClusterStatus{Nodes: nodes("candidate", "down", "follower")}, ""},
		// A cut-off old leader may still say it leads; the answering node's view wins.
		{"stale leader elsewhere", &pb.ClusterStatus{LeaderId: "b3", Nodes: nodes("leader", "follower", "leader")}, "b3"},
	} {
		if got := agreedLeader(tc.st); got != tc.want {
			t.Errorf("%s: agreedLeader = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestPrintStatus(t *testing.T) {
	st := &pb.ClusterStatus{LeaderId: "b1", ServedBy: "b3", Nodes: []*pb.NodeStatus{
		{Id: "b1", Role: "leader", Term: 4, CommitIndex: 120, AppliedIndex: 118, SerfStatus: "alive", GrpcAddr: "backend-1:9000"},
		{Id: "b2", Role: "down", SerfStatus: "failed", GrpcAddr: "backend-2:9000"},
	}}
	var b bytes.Buffer
	if err := printStatus(&b, st, "b1"); err != nil {
		t.Fatal(err)
	}
	want := `NODE  ROLE    TERM  COMMIT  APPLIED  SERF    GRPC
b1    leader  4     120     118      alive   backend-1:9000
b2    down    -     -       -        failed  backend-2:9000
leader: b1 (as seen by b3)
`
	if b.String() != want {
		t.Errorf("printStatus:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestStatusNoBackend checks that status fails with the addresses it tried
// when no backend answers.
func TestStatusNoBackend(t *testing.T) {
	ports := freePorts(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	err := run(ctx, []string{"status", "--insecure", "--backends", addr}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("status with no backend: err = %v, want one naming %s", err, addr)
	}
	if errors.Is(err, errNoLeader) {
		t.Errorf("status with no backend: err = %v, want a connection error, not %v", err, errNoLeader)
	}
}
