package localtest

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gallows-game/gallows/gameclient"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// Guess sends req alone in a batch on a GuessStream of its own, for tests
// that talk to one backend directly, and returns its reply; an Error
// outcome comes back as gameclient.OutcomeError makes it, so that
// status.Code and gameclient.Reason read it.
func Guess(ctx context.Context, c pb.GameClient, req *pb.GuessRequest) (*pb.GuessReply, error) {
	rep, err := GuessBatch(ctx, c, &pb.GuessBatchRequest{Guesses: []*pb.GuessRequest{req}})
	if err != nil {
		return nil, err
	}
	if len(rep.GetOutcomes()) != 1 {
		return nil, status.Errorf(codes.Internal, "localtest: one guess answered with %d outcomes", len(rep.GetOutcomes()))
	}
	return OutcomeReply(rep.GetOutcomes()[0])
}

// GuessBatch sends req as the one batch of a GuessStream of its own and
// returns the batch's answer. The error is the stream's, never a guess's:
// those are in the outcomes.
func GuessBatch(ctx context.Context, c pb.GameClient, req *pb.GuessBatchRequest) (*pb.GuessBatchReply, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.GuessStream(ctx)
	if err != nil {
		return nil, err
	}
	const id = 1
	if err := stream.Send(&pb.GuessBatchRequest{Id: id, Guesses: req.GetGuesses(), TimeoutMs: req.GetTimeoutMs()}); err != nil {
		return nil, err
	}
	if err := stream.CloseSend(); err != nil {
		return nil, err
	}
	rep, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	if rep.GetId() != id {
		return nil, status.Errorf(codes.Internal, "localtest: batch %d answered as batch %d", id, rep.GetId())
	}
	// The backend ends the stream once its one batch is answered: wait
	// for that, so that the call is over on both sides when this returns.
	_, _ = stream.Recv()
	return rep, nil
}

// OutcomeReply returns o's reply, or its error as gameclient.OutcomeError
// makes it.
func OutcomeReply(o *pb.GuessOutcome) (*pb.GuessReply, error) {
	if r := o.GetReply(); r != nil {
		return r, nil
	}
	if e := o.GetError(); e != nil {
		return nil, gameclient.OutcomeError(e)
	}
	return nil, status.Error(codes.Internal, "localtest: an outcome with neither reply nor error")
}
