package gameclient

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// scoresCall adapts a Scores method to a unaryCall.
func scoresCall[Req, Rep proto.Message](method func(pb.ScoresClient, context.Context, Req, ...grpc.CallOption) (Rep, error)) unaryCall[Req, Rep] {
	return func(bc *backendConn, ctx context.Context, req Req) (Rep, error) {
		return method(bc.scores, ctx, req)
	}
}

// TopScores returns a page of the leaderboard from the scores gossip of
// any backend, followers first: it needs no quorum, so it answers while
// Raft has none.
func (c *Client) TopScores(ctx context.Context, req *pb.TopRequest) (*pb.TopReply, error) {
	rep, _, err := retry(ctx, c, pb.Scores_Top_FullMethodName, followersFirst, req, scoresCall(pb.ScoresClient.Top))
	return rep, err
}

// ReportPresence tells a backend which sessions this frontend holds; the
// backends spread it by gossip.
func (c *Client) ReportPresence(ctx context.Context, req *pb.PresenceReport) error {
	_, _, err := retry(ctx, c, pb.Scores_ReportPresence_FullMethodName, followersFirst, req, scoresCall(pb.ScoresClient.ReportPresence))
	return err
}

// Online lists who is online in a room, on every frontend, as a backend
// knows it.
func (c *Client) Online(ctx context.Context, room string) ([]*pb.PresenceEntry, error) {
	rep, _, err := retry(ctx, c, pb.Scores_Online_FullMethodName, followersFirst, &pb.OnlineRequest{RoomId: room}, scoresCall(pb.ScoresClient.Online))
	if err != nil {
		return nil, err
	}
	return rep.GetOnline(), nil
}
