package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gallows-game/gallows/gameclient"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// internalChain is a backend's message as the game wraps its errors:
// where it went wrong, for a log; never for a player.
const internalChain = "create room CKM5G: word: length 1 outside 2..32: invalid word"

// refusedAs is a backend's refusal as gameclient returns it: a status of
// code with reason (none if unspecified) and metadata, wrapped with where
// it went.
func refusedAs(code codes.Code, reason pb.ErrorReason, msg string, metadata map[string]string) error {
	st := status.New(code, msg)
	if reason != pb.ErrorReason_ERROR_REASON_UNSPECIFIED {
		d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason.String(), Domain: pb.ErrorDomain, Metadata: metadata})
		if err != nil {
			panic(err)
		}
		st = d
	}
	return fmt.Errorf("gameclient: Guess on 10.0.0.3:9090: %w", st.Err())
}

func TestClassify(t *testing.T) {
	wrapped := func(code codes.Code, reason pb.ErrorReason) error { return refusedAs(code, reason, internalChain, nil) }
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"a reason has its own words", wrapped(codes.FailedPrecondition, pb.ErrorReason_ERROR_REASON_ALREADY_GUESSED),
			http.StatusConflict, "already_guessed", "That letter was already guessed."},
		{"an invalid word: what a word may be", wrapped(codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_INVALID_WORD),
			http.StatusBadRequest, "bad_request", "The word must be 2 to 32 characters: letters a–z, with single spaces, hyphens or apostrophes between them."},
		{"an invalid name", wrapped(codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_INVALID_NAME),
			http.StatusBadRequest, "bad_request", "Pick a nickname of 1 to 24 characters, without control characters."},
		{"an unknown category", wrapped(codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_UNKNOWN_CATEGORY),
			http.StatusBadRequest, "bad_request", "There is no such category: pick one from the list."},
		{"a full room", wrapped(codes.FailedPrecondition, pb.ErrorReason_ERROR_REASON_ROOM_FULL),
			http.StatusConflict, "room_full", "The room is full (64 players active in the last 10 minutes): watch, or try again later."},
		{"the host watches", wrapped(codes.PermissionDenied, pb.ErrorReason_ERROR_REASON_HOST_WATCHES),
			http.StatusForbidden, "host_watches", "You chose this word, so you watch this round: the others guess."},
		{"the match is over", wrapped(codes.FailedPrecondition, pb.ErrorReason_ERROR_REASON_MATCH_OVER),
			http.StatusConflict, "match_over", "The match is over: start a rematch."},
		{"the turn is not over", wrapped(codes.FailedPrecondition, pb.ErrorReason_ERROR_REASON_TURN_NOT_OVER),
			http.StatusConflict, "turn_not_over", "This turn's time has not run out yet."},
		{"bad request: not the backend's words", wrapped(codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_BAD_REQUEST),
			http.StatusBadRequest, "bad_request", "The game servers could not take that request: reload the page and try again."},
		{"invalid argument without a reason", wrapped(codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_UNSPECIFIED),
			http.StatusBadRequest, "bad_request", "The game servers could not take that request: reload the page and try again."},
		{"not found without a reason", wrapped(codes.NotFound, pb.ErrorReason_ERROR_REASON_UNSPECIFIED),
			http.StatusNotFound, "not_found", "No room with that code."},
		{"unreachable", wrapped(codes.Unavailable, pb.ErrorReason_ERROR_REASON_UNSPECIFIED),
			http.StatusServiceUnavailable, "no_quorum", "The game servers are not reachable right now: try again in a moment."},
		{"no leader yet", wrapped(codes.Unavailable, pb.ErrorReason_ERROR_REASON_NO_QUORUM),
			http.StatusServiceUnavailable, "no_quorum", "Electing a new leader: your guess will be sent again."},
		{"no majority, counted", refusedAs(codes.Unavailable, pb.ErrorReason_ERROR_REASON_NO_MAJORITY, internalChain, map[string]string{"up": "1", "voters": "3"}),
			http.StatusServiceUnavailable, "no_majority", "1 of 3 game servers up: waiting for a majority."},
		{"no majority, not counted", wrapped(codes.Unavailable, pb.ErrorReason_ERROR_REASON_NO_MAJORITY),
			http.StatusServiceUnavailable, "no_majority", "Too few game servers are up: waiting for a majority."},
		{"refused before a backend: its own sentence", refuse(errBadRequest, "The round is a whole number.", errors.New(`strconv.ParseInt: parsing "x": invalid syntax`)),
			http.StatusBadRequest, "bad_request", "The round is a whole number."},
		{"a bare refusal", fmt.Errorf("%w: round %q", errBadRequest, "x"),
			http.StatusBadRequest, "bad_request", "That request is not one the game understands."},
		{"name taken", wrapped(codes.AlreadyExists, pb.ErrorReason_ERROR_REASON_NAME_TAKEN),
			http.StatusConflict, "name_taken", "Someone else plays in this room under that nickname (or you play here under another one): pick another nickname."},
		{"forbidden", wrapped(codes.PermissionDenied, pb.ErrorReason_ERROR_REASON_FORBIDDEN),
			http.StatusForbidden, "forbidden", "Only the room's host can start the next round or a rematch."},
		{"no session", fmt.Errorf("%w: no token", errUnauthorized),
			http.StatusUnauthorized, "unauthorized", "Pick a nickname to play."},
		{"a limit", refuse(errInvalidLimit, "The limit is a number from 1 to 200.", nil),
			http.StatusBadRequest, "invalid_limit", "The limit is a number from 1 to 200."},
		{"anything else stays inside", errors.New("template: boom"),
			http.StatusInternalServerError, "internal", "Something went wrong on our side."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, code, msg := classify(tc.err, gameclient.Reason(tc.err))
			if st != tc.wantStatus || code != tc.wantCode || msg != tc.wantMsg {
				t.Errorf("classify = %d, %q, %q; want %d, %q, %q", st, code, msg, tc.wantStatus, tc.wantCode, tc.wantMsg)
			}
		})
	}
}

// chainPrefix is how an internal error chain starts: a lower-case
// context and a colon ("create room CKM5G: …", "game: …", "rpc error: …").
var chainPrefix = regexp.MustCompile(`^[a-z][a-zA-Z0-9 ._-]*: `)

// TestEveryReasonIsTold: whatever reason a refusal carries (and, without
// one, whatever its gRPC code), however long the chain of wrappers
// around it, a player is told one sentence of the frontend's own: with a
// code, starting with a capital (or a count),
// ending with a full stop, and with none of the backend's words: no
// "context: context: cause" chain, at most one colon.
func TestEveryReasonIsTold(t *testing.T) {
	reasons := make([]int32, 0, len(pb.ErrorReason_name))
	for r := range pb.ErrorReason_name {
		reasons = append(reasons, r)
	}
	slices.Sort(reasons)
	for _, r := range reasons {
		reason := pb.ErrorReason(r)
		for _, code := range []codes.Code{codes.InvalidArgument, codes.FailedPrecondition, codes.NotFound, codes.PermissionDenied, codes.Unavailable} {
			t.Run(fmt.Sprintf("%s/%s", reason, code), func(t *testing.T) {
				err := refusedAs(code, reason, internalChain, map[string]string{"up": "1", "voters": "3"})
				st, apiCode, msg := classify(err, gameclient.Reason(err))
				if gameclient.Reason(err) != reason {
					t.Fatalf("the refusal carries reason %v, want %v", gameclient.Reason(err), reason)
				}
				// A refusal without a reason is told by its gRPC code; one
				// no player causes (a certificate refused) is ours.
				ours := reason == pb.ErrorReason_ERROR_REASON_UNSPECIFIED && code == codes.PermissionDenied
				if !ours && (apiCode == "" || apiCode == "internal" || st < 400 || st == http.StatusInternalServerError) {
					t.Errorf("classify = %d %q: every reason has a code of its own", st, apiCode)
				}
				first := []rune(msg)[0]
				switch {
				case msg == "":
					t.Fatal("empty message")
				case !unicode.IsUpper(first) && !unicode.IsDigit(first), !strings.HasSuffix(msg, "."):
					t.Errorf("message %q is not a sentence", msg)
				case chainPrefix.MatchString(msg), strings.Count(msg, ": ") > 1:
					t.Errorf("message %q reads as an error chain", msg)
				case strings.Contains(msg, "CKM5G"), strings.Contains(msg, "outside 2..32"), strings.Contains(msg, "gameclient"), strings.Contains(msg, "rpc error"):
					t.Errorf("message %q repeats the backend's words %q", msg, internalChain)
				}
			})
		}
	}
}
