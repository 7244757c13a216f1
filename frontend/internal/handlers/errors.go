package handlers

import (
	"errors"
	"net/http"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// apiError is the body of every JSON error.
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// errBadRequest marks input refused before it reaches a backend.
var errBadRequest = errors.New("bad request")

// classify maps an error to its HTTP status, API code and a message a
// person can act on.
func classify(err error, reason pb.ErrorReason) (int, string, string) {
	msg := err.Error()
	// The backend's own words, not the chain of wrappers around them
	// (status.FromError of a wrapped status gives the whole chain).
	var grpcErr interface{ GRPCStatus() *status.Status }
	if errors.As(err, &grpcErr) {
		msg = grpcErr.GRPCStatus().Message()
	}
	switch reason {
	case pb.ErrorReason_ERROR_REASON_INVALID_LETTER:
		return http.StatusBadRequest, "invalid_letter", "Guess one letter, a to z."
	case pb.ErrorReason_ERROR_REASON_ALREADY_GUESSED:
		return http.StatusConflict, "already_guessed", "That letter was already guessed."
	case pb.ErrorReason_ERROR_REASON_ROUND_OVER:
		return http.StatusConflict, "round_over", "This round is over: start the next one."
	case pb.ErrorReason_ERROR_REASON_ROUND_NOT_OVER:
		return http.StatusConflict, "bad_request", "The round is still being played; only the host can skip it."
	case pb.ErrorReason_ERROR_REASON_ROOM_FULL:
		return http.StatusConflict, "bad_request", "The room is full."
	case pb.ErrorReason_ERROR_REASON_NOT_FOUND:
		return http.StatusNotFound, "not_found", "No room with that code."
	case pb.ErrorReason_ERROR_REASON_NO_QUORUM:
		return http.StatusServiceUnavailable, "no_quorum", "The game servers are electing a leader: try again in a moment."
	case pb.ErrorReason_ERROR_REASON_BAD_REQUEST:
		return http.StatusBadRequest, "bad_request", msg
	}
	switch status.Code(err) {
	case codes.InvalidArgument:
		return http.StatusBadRequest, "bad_request", msg
	case codes.NotFound:
		return http.StatusNotFound, "not_found", msg
	case codes.FailedPrecondition, codes.AlreadyExists:
		return http.StatusConflict, "bad_request", msg
	case codes.Unavailable, codes.DeadlineExceeded:
		return http.StatusServiceUnavailable, "no_quorum", "The game servers are not reachable right now: try again in a moment."
	}
	if errors.Is(err, errBadRequest) {
		return http.StatusBadRequest, "bad_request", msg
	}
	return http.StatusInternalServerError, "internal", "Something went wrong on our side."
}
