package handlers

import (
	"errors"
	"fmt"
	"net/http"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gallows-game/gallows/gameclient"
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

// refusal is input the frontend refuses itself: kind is one of the
// sentinels above, which gives the API code, say the sentence a player is
// shown, and cause, if not nil, what went wrong underneath (for the log,
// never shown).
type refusal struct {
	kind  error
	say   string
	cause error
}

// refuse returns the refusal of kind that tells the player say; cause,
// if not nil, is kept for the log.
func refuse(kind error, say string, cause error) error {
	return &refusal{kind: kind, say: say, cause: cause}
}

// Error is the refusal's whole story, for the log.
func (r *refusal) Error() string {
	if r.cause == nil {
		return fmt.Sprintf("%v: %s", r.kind, r.say)
	}
	return fmt.Sprintf("%v: %s (%v)", r.kind, r.say, r.cause)
}

// Unwrap gives the kind and the cause to errors.Is and errors.As.
func (r *refusal) Unwrap() []error {
	if r.cause == nil {
		return []error{r.kind}
	}
	return []error{r.kind, r.cause}
}

// maxPlayersPerRoom is the backends' cap of players active in a room
// (game.MaxPlayersPerRoom: the frontend does not import the game).
const maxPlayersPerRoom = 64

// answer is what a player is told of a refused request: its HTTP
// status, API code and a sentence to act on.
type answer struct {
	status  int
	code    string
	message string
}

// reasonAnswers are the answers to every reason a backend (or the game
// client) gives. A message is the players' own sentence, never the
// backend's words: those are a chain of internal wrappers ("create room
// CKM5G: word: …"), fit for a log, not for a page.
var reasonAnswers = map[pb.ErrorReason]answer{
	pb.ErrorReason_ERROR_REASON_INVALID_LETTER:  {http.StatusBadRequest, "invalid_letter", "Guess one letter, a to z."},
	pb.ErrorReason_ERROR_REASON_ALREADY_GUESSED: {http.StatusConflict, "already_guessed", "That letter was already guessed."},
	pb.ErrorReason_ERROR_REASON_ROUND_OVER:      {http.StatusConflict, "round_over", "This round is over: start the next one."},
	pb.ErrorReason_ERROR_REASON_NOT_FOUND:       {http.StatusNotFound, "not_found", "No room with that code."},
	pb.ErrorReason_ERROR_REASON_NO_QUORUM:       {http.StatusServiceUnavailable, "no_quorum", "Electing a new leader: your guess will be sent again."},
	pb.ErrorReason_ERROR_REASON_BAD_REQUEST:     {http.StatusBadRequest, "bad_request", "The game servers could not take that request: reload the page and try again."},
	pb.ErrorReason_ERROR_REASON_ROOM_FULL: {http.StatusConflict, "room_full",
		fmt.Sprintf("The room is full (%d players active in the last 10 minutes): watch, or try again later.", maxPlayersPerRoom)},
	pb.ErrorReason_ERROR_REASON_NAME_TAKEN: {http.StatusConflict, "name_taken",
		"Someone else plays in this room under that nickname (or you play here under another one): pick another nickname."},
	pb.ErrorReason_ERROR_REASON_FORBIDDEN:     {http.StatusForbidden, "forbidden", "Only the room's host can start the next round or a rematch."},
	pb.ErrorReason_ERROR_REASON_HOST_WATCHES:  {http.StatusForbidden, "host_watches", "You chose this word, so you watch this round: the others guess."},
	pb.ErrorReason_ERROR_REASON_MATCH_OVER:    {http.StatusConflict, "match_over", "The match is over: start a rematch."},
	pb.ErrorReason_ERROR_REASON_TURN_NOT_OVER: {http.StatusConflict, "turn_not_over", "This turn's time has not run out yet."},
	pb.ErrorReason_ERROR_REASON_MATCH_NOT_OVER: {http.StatusConflict, "match_not_over",
		"The match is not over yet: a rematch starts once its last round is over."},
	pb.ErrorReason_ERROR_REASON_LAST_ROUND: {http.StatusConflict, "last_round",
		"This is the match's last round: it is played to the end, then the host starts a rematch."},
	pb.ErrorReason_ERROR_REASON_INVALID_WORD: {http.StatusBadRequest, "bad_request",
		"The word must be 2 to 32 characters: letters a–z, with single spaces, hyphens or apostrophes between them."},
	pb.ErrorReason_ERROR_REASON_INVALID_NAME: {http.StatusBadRequest, "bad_request",
		"Pick a nickname of 1 to 24 characters, without control characters."},
	pb.ErrorReason_ERROR_REASON_UNKNOWN_CATEGORY:   {http.StatusBadRequest, "bad_request", "There is no such category: pick one from the list."},
	pb.ErrorReason_ERROR_REASON_UNKNOWN_DIFFICULTY: {http.StatusBadRequest, "bad_request", "The difficulty is easy, medium or hard."},
	pb.ErrorReason_ERROR_REASON_INVALID_SETTINGS: {http.StatusBadRequest, "bad_request",
		"Pick 1 to 26 lives, a match of 1 to 20 rounds (or endless) and 10 to 300 seconds a turn (or no limit)."},
	pb.ErrorReason_ERROR_REASON_NO_MAJORITY: {http.StatusServiceUnavailable, "no_majority",
		"Too few game servers are up: waiting for a majority."},
}

// codeAnswers are the answers to a backend's refusal without a reason, by
// its gRPC code.
var codeAnswers = map[codes.Code]answer{
	codes.InvalidArgument:    reasonAnswers[pb.ErrorReason_ERROR_REASON_BAD_REQUEST],
	codes.NotFound:           reasonAnswers[pb.ErrorReason_ERROR_REASON_NOT_FOUND],
	codes.FailedPrecondition: {http.StatusConflict, "bad_request", "The game cannot do that right now."},
	codes.AlreadyExists:      {http.StatusConflict, "bad_request", "The game cannot do that right now."},
	codes.Unavailable:        {http.StatusServiceUnavailable, "no_quorum", "The game servers are not reachable right now: try again in a moment."},
	codes.DeadlineExceeded:   {http.StatusServiceUnavailable, "no_quorum", "The game servers are not reachable right now: try again in a moment."},
}

// refusalCodes are the status and API code of each kind of refusal the
// frontend makes itself.
var refusalCodes = []struct {
	kind   error
	status int
	code   string
}{
	{errUnsupportedMedia, http.StatusUnsupportedMediaType, "unsupported_media_type"},
	{errInvalidLimit, http.StatusBadRequest, "invalid_limit"},
	{errInvalidCursor, http.StatusBadRequest, "invalid_cursor"},
	{errUnauthorized, http.StatusUnauthorized, "unauthorized"},
	{errBadRequest, http.StatusBadRequest, "bad_request"},
}

// classify maps an error to its HTTP status, API code and a message a
// person can act on. The message is always one of this package's own
// sentences (with counts at most): never an error's text, whose chain of
// wrappers says where it went wrong, not what to do. A call given up on
// while fewer than a majority of the game servers are up is no_majority,
// with how many are (the game client counts them from its cluster
// status); one given up on while a leader is elected is no_quorum.
func classify(err error, reason pb.ErrorReason) (int, string, string) {
	if up, voters, ok := gameclient.NoMajority(err); ok {
		return http.StatusServiceUnavailable, "no_majority", fmt.Sprintf("%d of %d game servers up: waiting for a majority.", up, voters)
	}
	// The frontend's own refusal says it best, whatever it wraps (a
	// cursor the backends refused, say).
	var ref *refusal
	if errors.As(err, &ref) {
		for _, r := range refusalCodes {
			if errors.Is(ref.kind, r.kind) {
				return r.status, r.code, ref.say
			}
		}
	}
	if a, ok := reasonAnswers[reason]; ok {
		return a.status, a.code, a.message
	}
	if st, ok := grpcStatus(err); ok {
		if a, ok := codeAnswers[st.Code()]; ok {
			return a.status, a.code, a.message
		}
	}
	for _, r := range refusalCodes {
		if !errors.Is(err, r.kind) {
			continue
		}
		if r.kind == errUnauthorized {
			return r.status, r.code, pickNickname
		}
		return r.status, r.code, "That request is not one the game understands."
	}
	return http.StatusInternalServerError, "internal", "Something went wrong on our side."
}

// grpcStatus returns the gRPC status err carries, looking through
// wrapping: a backend's refusal, or the game client's.
func grpcStatus(err error) (*status.Status, bool) {
	var grpcErr interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &grpcErr) {
		return nil, false
	}
	return grpcErr.GRPCStatus(), true
}
