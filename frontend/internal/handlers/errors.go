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

// errUnauthorized marks a write without a valid session: no token, or one
// forged, tampered with or expired.
var errUnauthorized = errors.New("unauthorized")

// Errors of input refused before it reaches a backend, each with an API
// code of its own.
var (
	// errUnsupportedMedia is a JSON API body not sent as application/json.
	errUnsupportedMedia = errors.New("unsupported media type")
	// errInvalidLimit is a page size out of range or not a number.
	errInvalidLimit = errors.New("invalid limit")
	// errInvalidCursor is a page cursor no backend made.
	errInvalidCursor = errors.New("invalid cursor")
)

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
	case pb.ErrorReason_ERROR_REASON_FORBIDDEN:
		return http.StatusForbidden, "forbidden", "Only the room's host can start the next round."
	case pb.ErrorReason_ERROR_REASON_NAME_TAKEN:
		return http.StatusConflict, "name_taken", "Someone else plays in this room under that nickname (or you play here under another one): pick another nickname."
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
	switch {
	case errors.Is(err, errUnsupportedMedia):
		return http.StatusUnsupportedMediaType, "unsupported_media_type", msg
	case errors.Is(err, errInvalidLimit):
		return http.StatusBadRequest, "invalid_limit", msg
	case errors.Is(err, errInvalidCursor):
		return http.StatusBadRequest, "invalid_cursor", msg
	case errors.Is(err, errUnauthorized):
		return http.StatusUnauthorized, "unauthorized", "Pick a nickname to play."
	case errors.Is(err, errBadRequest):
		return http.StatusBadRequest, "bad_request", msg
	}
	return http.StatusInternalServerError, "internal", "Something went wrong on our side."
}
