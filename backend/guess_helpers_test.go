package backend_test

import (
	"context"
	"fmt"
	"sync/atomic"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// guess sends req alone in a batch on a GuessStream of its own, as the
// unary Guess call once did, and returns its reply; an Error outcome comes
// back as the gRPC status error a call for it alone would fail with (same
// code and message, and the reason as an ErrorInfo of domain
// pb.ErrorDomain), so that status.Code and rpc.Reason read it.
func guess(ctx context.Context, c pb.GameClient, req *pb.GuessRequest) (*pb.GuessReply, error) {
	rep, err := guessBatch(ctx, c, &pb.GuessBatchRequest{Guesses: []*pb.GuessRequest{req}})
	if err != nil {
		return nil, err
	}
	if len(rep.GetOutcomes()) != 1 {
		return nil, status.Errorf(codes.Internal, "test: one guess answered with %d outcomes", len(rep.GetOutcomes()))
	}
	return outcomeReply(rep.GetOutcomes()[0])
}

// guessBatch sends req as the one batch of a GuessStream of its own and
// returns the batch's answer. The error is the stream's, never a guess's:
// those are in the outcomes.
func guessBatch(ctx context.Context, c pb.GameClient, req *pb.GuessBatchRequest) (*pb.GuessBatchReply, error) {
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
		return nil, status.Errorf(codes.Internal, "test: batch %d answered as batch %d", id, rep.GetId())
	}
	// The backend ends the stream once its one batch is answered: wait
	// for that, so that the call is over on both sides when this returns.
	_, _ = stream.Recv()
	return rep, nil
}

// outcomeReply returns o's reply, or its error as a status error (see guess).
func outcomeReply(o *pb.GuessOutcome) (*pb.GuessReply, error) {
	if r := o.GetReply(); r != nil {
		return r, nil
	}
	e := o.GetError()
	if e == nil {
		return nil, status.Error(codes.Internal, "test: an outcome with neither reply nor error")
	}
	st := status.New(codes.Code(e.GetCode()), e.GetMessage())
	if e.GetReason() != pb.ErrorReason_ERROR_REASON_UNSPECIFIED {
		d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: e.GetReason().String(), Domain: pb.ErrorDomain})
		if err != nil {
			return nil, err
		}
		st = d
	}
	return nil, st.Err()
}

// requestIDs numbers the request ids newRequestID makes.
var requestIDs atomic.Uint64

// newRequestID returns a request id no other call of the test binary uses:
// backends refuse writes without one.
func newRequestID(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, requestIDs.Add(1))
}
