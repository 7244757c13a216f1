package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc"

	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// defaultStatusBackends are the gRPC ports docker-compose.yml publishes on
// the host loopback.
const defaultStatusBackends = "127.0.0.1:9101,127.0.0.1:9102,127.0.0.1:9103"

// errNoLeader is returned by status when no agreed leader was found in time.
var errNoLeader = errors.New("no leader")

// runStatus prints the backend cluster as a table: every node's role,
// term, indexes and serf status, and who leads.
func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	backends := listFlag{}
	fs.Var(&backends, "backends", "backend gRPC host:port addresses to ask, comma-separated; the first that answers is used (default: a running gallows dev's cluster, given neither this nor certificates, else "+strconv.Quote(defaultStatusBackends)+")")
	leaderOnly := fs.Bool("leader", false, "print only the leader's id (for scripts)")
	wait := fs.Duration("wait", 0, "wait up to this long for a leader (a node that says it leads, and the answering node agrees)")
	caughtUp := fs.String("caught-up", "", "with --wait: also wait until this node (e.g. b2) has committed what the leader had committed when the wait began")
	var sec tlsFlags
	sec.register(fs, false, true)
	if err := parse(fs, args, stderr, "gallows status: who leads the backend cluster, and the state of every node."); err != nil {
		return err
	}
	if len(backends) == 0 && sec.none() {
		// A running gallows dev says where its cluster is.
		if dev, err := readDevState(); err == nil {
			backends, sec.certsDir = dev.Backends, dev.CertsDir
			fmt.Fprintf(stderr, "status: asking the gallows dev cluster (pid %d, %s): backends %s, certificates in %s\n",
				dev.PID, dev.URL, strings.Join(dev.Backends, ","), dev.CertsDir)
		}
	}
	if len(backends) == 0 {
		_ = backends.Set(defaultStatusBackends)
	}
	creds, err := sec.dialOption()
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	conns := make([]*grpc.ClientConn, 0, len(backends))
	defer func() {
		for _, cc := range conns {
			_ = cc.Close()
		}
	}()
	for _, addr := range backends {
		cc, err := grpc.NewClient(addr, creds)
		if err != nil {
			return fmt.Errorf("status: backend %q: %w", addr, err)
		}
		conns = append(conns, cc)
	}

	deadline := time.Now().Add(*wait)
	var target uint64 // the leader's commit index when the wait began
	for {
		st, err := clusterStatus(ctx, conns)
		leader := ""
		if err == nil {
			leader = agreedLeader(st)
		}
		done := leader != ""
		if done && *caughtUp != "" {
			if target == 0 {
				target = node(st, leader).GetCommitIndex()
			}
			n := node(st, *caughtUp)
			done = n != nil && n.GetRole() != "down" && n.GetCommitIndex() >= target
		}
		if done || !time.Now().Before(deadline) || ctx.Err() != nil {
			if err != nil {
				return fmt.Errorf("status: no backend of %v answered (is the cluster running?): %w", []string(backends), err)
			}
			if *leaderOnly {
				if leader == "" {
					return fmt.Errorf("status: %w known to %s", errNoLeader, st.GetServedBy())
				}
				_, err := fmt.Fprintln(stdout, leader)
				return err
			}
			if err := printStatus(stdout, st, leader); err != nil {
				return err
			}
			if leader == "" {
				return fmt.Errorf("status: %w known to %s", errNoLeader, st.GetServedBy())
			}
			if !done {
				return fmt.Errorf("status: %s has not caught up with the leader's commit index %d", *caughtUp, target)
			}
			return nil
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// clusterStatus asks each backend in turn for the cluster status and
// returns the first answer.
func clusterStatus(ctx context.Context, conns []*grpc.ClientConn) (*pb.ClusterStatus, error) {
	var errs []error
	for _, cc := range conns {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		st, err := pb.NewClusterClient(cc).Status(cctx, &pb.StatusRequest{})
		cancel()
		if err == nil {
			return st, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", cc.Target(), err))
	}
	return nil, errors.Join(errs...)
}

// node returns the status of node id, or nil.
func node(st *pb.ClusterStatus, id string) *pb.NodeStatus {
	for _, n := range st.GetNodes() {
		if n.GetId() == id {
			return n
		}
	}
	return nil
}

// agreedLeader is the leader the answering node names, if that node
// itself reports the leader role; "" otherwise (an election is running,
// or the named leader is down).
func agreedLeader(st *pb.ClusterStatus) string {
	for _, n := range st.GetNodes() {
		if n.GetId() == st.GetLeaderId() && n.GetRole() == "leader" {
			return n.GetId()
		}
	}
	return ""
}

func printStatus(w io.Writer, st *pb.ClusterStatus, leader string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tROLE\tTERM\tCOMMIT\tAPPLIED\tSERF\tGRPC")
	for _, n := range st.GetNodes() {
		if n.GetRole() == "down" {
			fmt.Fprintf(tw, "%s\tdown\t-\t-\t-\t%s\t%s\n", n.GetId(), n.GetSerfStatus(), n.GetGrpcAddr())
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\n", n.GetId(), n.GetRole(), n.GetTerm(),
			n.GetCommitIndex(), n.GetAppliedIndex(), n.GetSerfStatus(), n.GetGrpcAddr())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	who := leader
	if who == "" {
		who = "none right now"
	}
	_, err := fmt.Fprintf(w, "leader: %s (as seen by %s)\n", who, st.GetServedBy())
	return err
}
