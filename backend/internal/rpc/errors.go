package rpc

import (
	"context"
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gallows-game/gallows/backend/game"
	"github.com/gallows-game/gallows/backend/internal/proxy"
	"github.com/gallows-game/gallows/backend/internal/store"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

var errorTable = []struct {
	err    error
	code   codes.Code
	reason pb.ErrorReason
}{
	{game.ErrInvalidLetter, codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_INVALID_LETTER},
	{game.ErrAlreadyGuessed, codes.FailedPrecondition, pb.ErrorReason_ERROR_REASON_ALREADY_GUESSED},
	{game.ErrRoundOver, codes.FailedPrecondition, pb.ErrorReason_ERROR_REASON_ROUND_OVER},
	{game.ErrForbidden, codes.PermissionDenied, pb.ErrorReason_ERROR_REASON_FORBIDDEN},
	{game.ErrNameTaken, codes.AlreadyExists, pb.ErrorReason_ERROR_REASON_NAME_TAKEN},
	{game.ErrRoomFull, codes.FailedPrecondition, pb.ErrorReason_ERROR_REASON_ROOM_FULL},
	{game.ErrHostWatches, codes.PermissionDenied, pb.ErrorReason_ERROR_REASON_HOST_WATCHES},
	{game.ErrMatchOver, codes.FailedPrecondition, pb.ErrorReason_ERROR_REASON_MATCH_OVER},
	{game.ErrMatchNotOver, codes.FailedPrecondition, pb.ErrorReason_ERROR_REASON_MATCH_NOT_OVER},
	{game.ErrLastRound, codes.FailedPrecondition, pb.ErrorReason_ERROR_REASON_LAST_ROUND},
	{game.ErrTurnNotOver, codes.FailedPrecondition, pb.ErrorReason_ERROR_REASON_TURN_NOT_OVER},
	{game.ErrRoomExists, codes.FailedPrecondition, pb.ErrorReason_ERROR_REASON_BAD_REQUEST},
	{game.ErrUnknownRoom, codes.NotFound, pb.ErrorReason_ERROR_REASON_NOT_FOUND},
	{game.ErrInvalidWord, codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_INVALID_WORD},
	{game.ErrInvalidPlayer, codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_INVALID_NAME},
	{game.ErrUnknownCategory, codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_UNKNOWN_CATEGORY},
	{game.ErrUnknownDifficulty, codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_UNKNOWN_DIFFICULTY},
	{game.ErrInvalidSettings, codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_INVALID_SETTINGS},
	{game.ErrInvalidCommand, codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_BAD_REQUEST},
	{store.ErrNotLeader, codes.Unavailable, pb.ErrorReason_ERROR_REASON_NO_QUORUM},
	{store.ErrLeadershipLost, codes.Unavailable, pb.ErrorReason_ERROR_REASON_NO_QUORUM},
	{store.ErrTimeout, codes.Unavailable, pb.ErrorReason_ERROR_REASON_NO_QUORUM},
	{store.ErrClosed, codes.Unavailable, pb.ErrorReason_ERROR_REASON_NO_QUORUM},
	{store.ErrLagging, codes.Aborted, pb.ErrorReason_ERROR_REASON_UNSPECIFIED},
	{store.ErrBehind, codes.Unavailable, pb.ErrorReason_ERROR_REASON_NO_QUORUM},
	{proxy.ErrNoLeader, codes.Unavailable, pb.ErrorReason_ERROR_REASON_NO_QUORUM},
	{context.DeadlineExceeded, codes.Unavailable, pb.ErrorReason_ERROR_REASON_NO_QUORUM},
}

// toStatus turns an error from the game or the store into a gRPC status
// with an ErrorInfo reason. Errors that are already statuses pass through.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	for _, e := range errorTable {
		if errors.Is(err, e.err) {
			return withReason(e.code, e.reason, err.Error())
		}
	}
	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

func withReason(code codes.Code, reason pb.ErrorReason, msg string) error {
	st := status.New(code, msg)
	if code == codes.Unavailable {
		msg += " (no leader or quorum right now: retry shortly)"
		st = status.New(code, msg)
	}
	d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason.String(), Domain: pb.ErrorDomain})
	if err != nil {
		return st.Err()
	}
	return d.Err()
}

// Reason returns the ErrorReason carried by a status error, or
// ERROR_REASON_UNSPECIFIED.
func Reason(err error) pb.ErrorReason {
	st, ok := status.FromError(err)
	if !ok {
		return pb.ErrorReason_ERROR_REASON_UNSPECIFIED
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == pb.ErrorDomain {
			return pb.ErrorReason(pb.ErrorReason_value[info.GetReason()])
		}
	}
	return pb.ErrorReason_ERROR_REASON_UNSPECIFIED
}

// errorOutcome is the answer, inside a batch, to a request that failed with
// err: the code, message and reason toStatus gives err.
func errorOutcome(err error) *pb.GuessOutcome {
	st, _ := status.FromError(toStatus(err))
	return &pb.GuessOutcome{Result: &pb.GuessOutcome_Error{Error: &pb.Error{
		Code: uint32(st.Code()), Message: st.Message(), Reason: Reason(st.Err()),
	}}}
}
