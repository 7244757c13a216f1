package gameclient

import (
	"errors"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// statusStale is how long after its stream broke the latest cluster
// status still counts for VotersUp. A live stream sends every change
// within about half a second (a backend looks every 250 ms and gives a
// peer 500 ms to answer), so a status is at most about a second old.
const statusStale = time.Second

// Keys of the metadata of a NO_MAJORITY error's ErrorInfo.
const (
	metaUp     = "up"
	metaVoters = "voters"
)

// VotersUp counts, from the latest cluster status (no call: the status
// stream keeps it current), the cluster's voters and those up: a voter is
// up if it answered for the status in a role that takes part in Raft
// (leader, follower or candidate: not "down", nor "shutdown") and serf
// has it alive. ok is false when there is no status to count from. When the
// status stream has been broken for longer than a second (no backend
// answers it), the last status is stale and no voter counts as up.
func (c *Client) VotersUp() (up, voters int, ok bool) {
	c.mu.Lock()
	st, have, live, lost := c.status, c.haveStatus, c.statusLive, c.statusLost
	c.mu.Unlock()
	if !have {
		return 0, 0, false
	}
	stale := !live && time.Since(lost) > statusStale
	for _, n := range st.GetNodes() {
		if !n.GetVoter() {
			continue
		}
		voters++
		switch n.GetRole() {
		case "leader", "follower", "candidate":
			if !stale && n.GetSerfStatus() == "alive" {
				up++
			}
		}
	}
	return up, voters, voters > 0
}

// noMajority reports whether the latest cluster status shows fewer than
// a majority of the voters up.
func (c *Client) noMajority() bool {
	up, voters, ok := c.VotersUp()
	return ok && up < voters/2+1
}

// noMajorityStatus is the Unavailable NO_MAJORITY error of a call given
// up on while up of voters voters are up.
func noMajorityStatus(msg string, up, voters int) error {
	st := status.New(codes.Unavailable, msg)
	info := &errdetails.ErrorInfo{
		Reason: pb.ErrorReason_ERROR_REASON_NO_MAJORITY.String(), Domain: pb.ErrorDomain,
		Metadata: map[string]string{metaUp: strconv.Itoa(up), metaVoters: strconv.Itoa(voters)},
	}
	if d, err := st.WithDetails(info); err == nil {
		st = d
	}
	return st.Err()
}

// NoMajority reports whether err (looking through wrapping) is a call
// given up on because fewer than a majority of the cluster's voters were
// up (reason NO_MAJORITY), and how many of how many were.
func NoMajority(err error) (up, voters int, ok bool) {
	var grpcErr interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &grpcErr) {
		return 0, 0, false
	}
	for _, d := range grpcErr.GRPCStatus().Details() {
		info, isInfo := d.(*errdetails.ErrorInfo)
		if !isInfo || info.GetDomain() != pb.ErrorDomain || info.GetReason() != pb.ErrorReason_ERROR_REASON_NO_MAJORITY.String() {
			continue
		}
		up, errUp := strconv.Atoi(info.GetMetadata()[metaUp])
		voters, errVoters := strconv.Atoi(info.GetMetadata()[metaVoters])
		if errUp != nil || errVoters != nil {
			return 0, 0, false
		}
		return up, voters, true
	}
	return 0, 0, false
}
