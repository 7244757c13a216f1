// Package history records what clients of a Gallows cluster saw while faults
// were injected, and checks that record against the promises of the game
// plane (DESIGN.md §5, promises 1–4).
//
// A test drives rooms through some client (gRPC, HTTP, websocket) and hands
// every finished operation to a [Recorder]: what was asked (guess, get, next
// round), when it was called and when it returned, and what came back: a
// room ([OK]), a definite refusal ([Fail]), or nothing certain ([Unknown]:
// timed out or unavailable, so it may or may not have been applied). States
// that watch streams delivered are recorded as [Event]s. [Check] then looks
// for five kinds of trouble:
//
//  1. Linearizability, per room, with porcupine: there must be one order of
//     the operations, each placed between its call and its return, in which
//     the room's rules produce exactly the replies seen. This catches stale
//     reads, lost or doubled writes, and retries not answered with their
//     first answer.
//  2. Backwards: no caller sees an older version of a room than one it has
//     already seen, replies and watch events alike (promise 4).
//  3. Doubled or conflicting answers: two requests acknowledged with one
//     version, one request answered twice differently (promise 2), or one
//     version of a room seen as two different states.
//  4. Watch gaps: a watch stream delivers every version, one by one, and a
//     watcher's versions never go down across resubscribes.
//  5. Lost: every acknowledged write is in the room's final read (promise 1).
//
// Checks 2–5 need no search and give a precise message for the common
// failures; check 1 is the complete one.
//
// # The model
//
// A room starts at version 1, round 1, playing, nothing guessed; every
// change adds one to the version. The model follows the game's rules:
// a guess repeating the player's last applied request id is answered with
// that request's first reply; otherwise a guess naming an earlier round,
// or made in a round that is won or lost, is refused as round_over, a
// later round as bad_request, a letter guessed this round as
// already_guessed. Letters are trimmed and folded to lower case as the game
// does. A next round is the host's alone: anyone else's is refused as
// forbidden (unless it repeats the player's own last request, answered as
// the first time). The host's next round ending the current round
// applies, whether the round is over or still played; one ending the
// previous round is answered with the room as the current round began;
// older rounds are round_over. Round 0 means "no round" for a guess and "the current round"
// for a next round. The model cannot know the word: it takes won, lost or
// playing from the reply. A refusal as not_found is accepted only before any
// reply showed the room; invalid_letter or bad_request only for a letter
// that is not one of a–z; any other code is not plausible, so record
// timeouts, no_quorum and unavailable as Unknown.
//
// An Unknown operation may take effect at any time after its call (while
// the round it names lasts, if it names one), or never; an Unknown read is
// left out. When a client sends an Unknown request again (Resend) until it
// is answered, the sends are checked as one request from the first call to
// the answer, which takes effect once: a late copy of an early send that
// the game's record of the player's last request no longer catches counts
// as applied twice, which promise 2 forbids.
//
// The package imports nothing of the repository, so in-process tests and
// tests against containers can both use it, and a history saved with
// [Recorder.WriteJSON] can be checked again later with [ReadJSON].
package history

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// Kind is the kind of an operation on one room.
type Kind string

// The kinds of operation a room has.
const (
	// Guess guesses one letter.
	Guess Kind = "guess"
	// Get reads the room.
	Get Kind = "get"
	// NextRound ends a round and starts the next one.
	NextRound Kind = "next_round"
)

// Outcome is how an operation ended, as its caller saw it.
type Outcome string

// The outcomes of an operation.
const (
	// OK means the operation was answered with a room.
	OK Outcome = "ok"
	// Fail means a definite refusal: nothing changed.
	Fail Outcome = "fail"
	// Unknown means the caller got no answer (timed out, unavailable, no
	// quorum): the operation may or may not have been applied, at any time
	// after its call.
	Unknown Outcome = "unknown"
)

// The statuses a round can be in, as State.Status spells them.
const (
	// StatusPlaying is a round still being played.
	StatusPlaying = "playing"
	// StatusWon is a round whose word was found.
	StatusWon = "won"
	// StatusLost is a round that ran out of lives.
	StatusLost = "lost"
)

// State is a room as a reply or a watch event showed it.
type State struct {
	// Version counts the room's applied changes; a new room has version 1.
	Version uint64 `json:"version"`
	// Round is the round number, from 1.
	Round int64 `json:"round"`
	// Status is StatusPlaying, StatusWon or StatusLost.
	Status string `json:"status"`
	// Guessed holds the letters in the order guessed this round.
	Guessed []string `json:"guessed,omitempty"`
}

// Equal reports whether s and o show the same room (a nil and an empty
// Guessed are the same).
func (s State) Equal(o State) bool {
	if s.Version != o.Version || s.Round != o.Round || s.Status != o.Status || len(s.Guessed) != len(o.Guessed) {
		return false
	}
	for i := range s.Guessed {
		if s.Guessed[i] != o.Guessed[i] {
			return false
		}
	}
	return true
}

// String describes the state as "v5 r1 [a e] playing".
func (s State) String() string {
	return fmt.Sprintf("v%d r%d %v %s", s.Version, s.Round, s.Guessed, s.Status)
}

// Op is one finished operation on one room.
type Op struct {
	// Client names one sequential caller: at most one operation of a
	// client is in flight at a time.
	Client string `json:"client"`
	// Room is the room's code, the partition key.
	Room string `json:"room"`
	// Kind is what was asked.
	Kind Kind `json:"kind"`
	// Player is the player the operation was sent as.
	Player string `json:"player,omitempty"`
	// Letter is the letter guessed (Guess).
	Letter string `json:"letter,omitempty"`
	// RequestID is the guess's request id (Guess); a player's request is
	// identified by (Room, Player, RequestID).
	RequestID string `json:"request_id,omitempty"`
	// Round is, for a Guess, the round the guess names (0 = none); for a
	// NextRound, the round it ends (0 = the room's current round).
	Round int64 `json:"round,omitempty"`
	// Resend marks the same request as an earlier op of this client whose
	// outcome was Unknown (same RequestID, or same NextRound round).
	Resend bool `json:"resend,omitempty"`
	// Host marks a NextRound sent by the room's host, the one player who
	// may start the next round.
	Host bool `json:"host,omitempty"`
	// Call is when the operation was sent.
	Call time.Time `json:"call"`
	// Return is when its outcome arrived (or when the caller gave up).
	Return time.Time `json:"return"`
	// Outcome is how it ended.
	Outcome Outcome `json:"outcome"`
	// Code is the error reason of a Fail, e.g. "already_guessed",
	// "round_over", "forbidden", "not_found", "invalid_letter",
	// "bad_request".
	Code string `json:"code,omitempty"`
	// Reply is the room in the reply of an OK operation.
	Reply State `json:"reply"`
	// Hit reports, for an OK Guess, that the letter is in the word.
	Hit bool `json:"hit,omitempty"`
}

// Event is one state a watch stream delivered.
type Event struct {
	// Client is the watcher: the caller that reads the stream.
	Client string `json:"client"`
	// Stream names one server-side stream; a resubscribe starts a new one.
	Stream string `json:"stream"`
	// Room is the room watched.
	Room string `json:"room"`
	// At is when the event arrived.
	At time.Time `json:"at"`
	// State is the room the event showed.
	State State `json:"state"`
}

// Recorder collects operations and events. It is safe for concurrent use.
// The zero value is ready to use.
type Recorder struct {
	mu     sync.Mutex
	ops    []Op
	events []Event
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{} }

// Add records one finished operation.
func (r *Recorder) Add(op Op) {
	op.Reply.Guessed = cloneStrings(op.Reply.Guessed)
	r.mu.Lock()
	r.ops = append(r.ops, op)
	r.mu.Unlock()
}

// AddEvent records one state a watch stream delivered.
func (r *Recorder) AddEvent(ev Event) {
	ev.State.Guessed = cloneStrings(ev.State.Guessed)
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

// Ops returns a copy of the operations recorded so far, in the order they
// were added.
func (r *Recorder) Ops() []Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Op(nil), r.ops...)
}

// Events returns a copy of the events recorded so far, in the order they
// were added.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// file is the JSON form of a history.
type file struct {
	Ops    []Op    `json:"ops"`
	Events []Event `json:"events"`
}

// WriteJSON saves the history recorded so far to path, for ReadJSON.
func (r *Recorder) WriteJSON(path string) error {
	return writeJSON(path, r.Ops(), r.Events())
}

func writeJSON(path string, ops []Op, events []Event) error {
	if ops == nil {
		ops = []Op{}
	}
	if events == nil {
		events = []Event{}
	}
	data, err := json.MarshalIndent(file{Ops: ops, Events: events}, "", " ")
	if err != nil {
		return fmt.Errorf("encode history: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	return nil
}

// ReadJSON loads a history that WriteJSON saved.
func ReadJSON(path string) (*Recorder, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	var f file
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("decode history %s: %w", path, err)
	}
	return &Recorder{ops: f.Ops, events: f.Events}, nil
}

func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s...)
}
