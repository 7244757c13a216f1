package rpc

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gallows-game/gallows/backend/game"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// TestGameErrorsHaveReasons: each refusal of the game reaches a client as
// a status with the gRPC code and the reason of its own that clients (the
// frontend) tell players by, however it was wrapped.
func TestGameErrorsHaveReasons(t *testing.T) {
	tests := []struct {
		err        error
		wantCode   codes.Code
		wantReason pb.ErrorReason
	}{
		{game.ErrInvalidLetter, codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_INVALID_LETTER},
		{game.ErrAlreadyGuessed, codes.FailedPrecondition, pb.ErrorReason_ERROR_REASON_ALREADY_GUESSED},
		{game.ErrRoundOver, codes.FailedPrecondition, pb.ErrorReason_ERROR_REASON_ROUND_OVER},
		{game.ErrUnknownRoom, codes.NotFound, pb.ErrorReason_ERROR_REASON_NOT_FOUND},
		{game.ErrRoomExists, codes.FailedPrecondition, pb.ErrorReason_ERROR_REASON_BAD_REQUEST},
		{game.ErrInvalidWord, codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_INVALID_WORD},
		{game.ErrUnknownCategory, codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_UNKNOWN_CATEGORY},
		{game.ErrUnknownDifficulty, codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_UNKNOWN_DIFFICULTY},
		{game.ErrForbidden, codes.PermissionDenied, pb.ErrorReason_ERROR_REASON_FORBIDDEN},
		{game.ErrNameTaken, codes.AlreadyExists, pb.ErrorReason_ERROR_REASON_NAME_TAKEN},
		{game.ErrInvalidPlayer, codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_INVALID_NAME},
		{game.ErrRoomFull, codes.FailedPrecondition, pb.ErrorReason_ERROR_REASON_ROOM_FULL},
		{game.ErrHostWatches, codes.PermissionDenied, pb.ErrorReason_ERROR_REASON_HOST_WATCHES},
		{game.ErrMatchOver, codes.FailedPrecondition, pb.ErrorReason_ERROR_REASON_MATCH_OVER},
		{game.ErrMatchNotOver, codes.FailedPrecondition, pb.ErrorReason_ERROR_REASON_MATCH_NOT_OVER},
		{game.ErrLastRound, codes.FailedPrecondition, pb.ErrorReason_ERROR_REASON_LAST_ROUND},
		{game.ErrTurnNotOver, codes.FailedPrecondition, pb.ErrorReason_ERROR_REASON_TURN_NOT_OVER},
		{game.ErrInvalidSettings, codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_INVALID_SETTINGS},
		{game.ErrInvalidCommand, codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_BAD_REQUEST},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			err := toStatus(fmt.Errorf("create room CKM5G: word: %w", tt.err))
			if status.Code(err) != tt.wantCode || Reason(err) != tt.wantReason {
				t.Errorf("toStatus = %v (%v), want %v %v", status.Code(err), Reason(err), tt.wantCode, tt.wantReason)
			}
			out := errorOutcome(fmt.Errorf("guess: %w", tt.err)).GetError()
			if codes.Code(out.GetCode()) != tt.wantCode || out.GetReason() != tt.wantReason {
				t.Errorf("in a batch: %v (%v), want %v %v", codes.Code(out.GetCode()), out.GetReason(), tt.wantCode, tt.wantReason)
			}
		})
	}
	if err := toStatus(errors.New("disk on fire")); status.Code(err) != codes.Internal || Reason(err) != pb.ErrorReason_ERROR_REASON_UNSPECIFIED {
		t.Errorf("an error of no table: %v (%v), want Internal without a reason", status.Code(err), Reason(err))
	}
}
