package main

import (
	"context"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// guess sends req alone in a batch on a GuessStream of its own and
// returns its reply; an Error outcome comes back as the gRPC status error
// a call for the guess alone would fail with (same code and message, and
// the reason as an ErrorInfo of domain pb.ErrorDomain).
func guess(ctx context.Context, c pb.GameClient, req *pb.GuessRequest) (*pb.GuessReply, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.GuessStream(ctx)
	if err != nil {
		return nil, err
	}
	const id = 1
	if err := stream.Send(&pb.GuessBatchRequest{Id: id, Guesses: []*pb.GuessRequest{req}}); err != nil {
		return nil, err
	}
	if err := stream.CloseSend(); err != nil {
		return nil, err
	}
	rep, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	// The backend ends the stream once its one batch is answered: wait
	// for that, so that the call is over on both sides when this returns.
	_, _ = stream.Recv()
	if rep.GetId() != id || len(rep.GetOutcomes()) != 1 {
		return nil, status.Errorf(codes.Internal, "test: batch %d of one guess answered as batch %d with %d outcomes", id, rep.GetId(), len(rep.GetOutcomes()))
	}
	o := rep.GetOutcomes()[0]
	if r := o.GetReply(); r != nil {
		return r, nil
	}
	e := o.GetError()
	if e == nil {
		return nil, status.Error(codes.Internal, "test: an outcome with neither reply nor error")
	}
	st := status.New(codes.Code(e.GetCode()), e.GetMessage())
	if e.GetReason() != pb.ErrorReason_ERROR_REASON_UNSPECIFIED {
		if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: e.GetReason().String(), Domain: pb.ErrorDomain}); err == nil {
			st = d
		}
	}
	return nil, st.Err()
}
