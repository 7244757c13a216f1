package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

func TestClassify(t *testing.T) {
	// As gameclient returns a backend's refusal: wrapped, with where it went.
	wrapped := func(code codes.Code, msg string) error {
		return fmt.Errorf("gameclient: Guess on 10.0.0.3:9090: %w", status.Error(code, msg))
	}
	tests := []struct {
		name       string
		err        error
		reason     pb.ErrorReason
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"a reason has its own words", wrapped(codes.FailedPrecondition, "game: letter e already guessed"), pb.ErrorReason_ERROR_REASON_ALREADY_GUESSED,
			http.StatusConflict, "already_guessed", "That letter was already guessed."},
		{"bad request: the backend's words, not the wrappers", wrapped(codes.InvalidArgument, "game: invalid player name"), pb.ErrorReason_ERROR_REASON_BAD_REQUEST,
			http.StatusBadRequest, "bad_request", "game: invalid player name"},
		{"invalid argument without a reason", wrapped(codes.InvalidArgument, "word too long"), pb.ErrorReason_ERROR_REASON_UNSPECIFIED,
			http.StatusBadRequest, "bad_request", "word too long"},
		{"not found", wrapped(codes.NotFound, "room ZZZZZ not found"), pb.ErrorReason_ERROR_REASON_UNSPECIFIED,
			http.StatusNotFound, "not_found", "room ZZZZZ not found"},
		{"unreachable", wrapped(codes.Unavailable, "connection refused"), pb.ErrorReason_ERROR_REASON_UNSPECIFIED,
			http.StatusServiceUnavailable, "no_quorum", "The game servers are not reachable right now: try again in a moment."},
		{"refused before a backend", fmt.Errorf("%w: round %q", errBadRequest, "x"), pb.ErrorReason_ERROR_REASON_UNSPECIFIED,
			http.StatusBadRequest, "bad_request", `bad request: round "x"`},
		{"name taken", wrapped(codes.AlreadyExists, "game: name taken"), pb.ErrorReason_ERROR_REASON_NAME_TAKEN,
			http.StatusConflict, "name_taken", "Someone else plays in this room under that nickname (or you play here under another one): pick another nickname."},
		{"forbidden", wrapped(codes.PermissionDenied, "game: only the host may do that"), pb.ErrorReason_ERROR_REASON_FORBIDDEN,
			http.StatusForbidden, "forbidden", "Only the room's host can start the next round."},
		{"no session", fmt.Errorf("%w: no token", errUnauthorized), pb.ErrorReason_ERROR_REASON_UNSPECIFIED,
			http.StatusUnauthorized, "unauthorized", "Pick a nickname to play."},
		{"anything else stays inside", errors.New("template: boom"), pb.ErrorReason_ERROR_REASON_UNSPECIFIED,
			http.StatusInternalServerError, "internal", "Something went wrong on our side."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, code, msg := classify(tc.err, tc.reason)
			if st != tc.wantStatus || code != tc.wantCode || msg != tc.wantMsg {
				t.Errorf("classify = %d, %q, %q; want %d, %q, %q", st, code, msg, tc.wantStatus, tc.wantCode, tc.wantMsg)
			}
		})
	}
}
