package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Faults injects faults into the backends for the cluster panel's
// buttons: gallows dev --fault-buttons supervises backend processes,
// tests use an in-process cluster. frontend.Faults is the same interface.
type Faults interface {
	// Kill stops backend id at once, as kill -9 does.
	Kill(ctx context.Context, id string) error
	// Restart starts a killed backend id again on its data.
	Restart(ctx context.Context, id string) error
	// Freeze stops backend id for d, as SIGSTOP and SIGCONT do.
	Freeze(ctx context.Context, id string, d time.Duration) error
	// Cut cuts backend id off from the network for d.
	Cut(ctx context.Context, id string, d time.Duration) error
}

// Errors a Faults implementation wraps, which the endpoints answer with
// their own status.
var (
	// ErrUnknownNode: no backend has that id (404).
	ErrUnknownNode = errors.New("no such backend")
	// ErrNodeState: the backend is not in a state for the action, e.g.
	// a restart of a running backend (409).
	ErrNodeState = errors.New("the backend cannot do that now")
)

// NodeError is a refusal of a fault action in words for the panel, e.g.
// "b2 is not running: restart it first", that wraps ErrUnknownNode or
// ErrNodeState (whose own text it leaves out).
func NodeError(kind error, msg string) error { return nodeError{kind: kind, msg: msg} }

type nodeError struct {
	kind error
	msg  string
}

func (e nodeError) Error() string { return e.msg }
func (e nodeError) Unwrap() error { return e.kind }

// How long the panel's buttons freeze and cut off a backend.
const (
	FreezeFor = 5 * time.Second
	CutFor    = 10 * time.Second
)

// faultActions are the actions of POST /cluster/nodes/{id}/{action}.
var faultActions = map[string]bool{"kill": true, "restart": true, "freeze": true, "cut": true}

// errNoFaults answers the fault endpoints of a frontend without Faults.
var errNoFaults = errors.New("fault injection is off: run gallows dev --fault-buttons")

// fault runs action on backend id and records it in the timeline. Its
// errors are errNoFaults, errBadRequest (unknown action), ErrUnknownNode,
// ErrNodeState or the implementation's own.
func (h *Handlers) fault(ctx context.Context, id, action string) error {
	f := h.cfg.Faults
	if f == nil {
		return errNoFaults
	}
	if !faultActions[action] {
		return fmt.Errorf("%w: action %q: want kill, restart, freeze or cut", errBadRequest, action)
	}
	at := time.Now()
	var (
		err error
		d   time.Duration
	)
	switch action {
	case "kill":
		err = f.Kill(ctx, id)
	case "restart":
		err = f.Restart(ctx, id)
	case "freeze":
		d = FreezeFor
		err = f.Freeze(ctx, id, d)
	case "cut":
		d = CutFor
		err = f.Cut(ctx, id, d)
	}
	if err != nil {
		h.log.Info("fault refused", "action", action, "node", id, "err", err)
		return err
	}
	h.log.Info("fault injected", "action", action, "node", id, "for", d)
	h.cfg.Timeline.Fault(at, action, id, d)
	return nil
}

// faultStatus maps an error of fault to an HTTP status and API code.
func faultStatus(err error) (int, string) {
	switch {
	case errors.Is(err, errNoFaults), errors.Is(err, ErrUnknownNode):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, errBadRequest):
		return http.StatusBadRequest, "bad_request"
	case errors.Is(err, ErrNodeState):
		return http.StatusConflict, "conflict"
	}
	return http.StatusInternalServerError, "internal"
}

// faultForm answers the panel's buttons (POST
// /cluster/nodes/{id}/{action}): it injects the fault and sends the
// browser back to the panel, with the refusal, if any, to show there.
// Cross-origin posts are refused in front of every form.
func (h *Handlers) faultForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	err := h.fault(r.Context(), r.PathValue("id"), r.PathValue("action"))
	if code, _ := faultStatus(err); err != nil && code == http.StatusNotFound {
		http.NotFound(w, r)
		return
	}
	msg := ""
	if err != nil {
		msg = "Not done: " + err.Error()
	}
	redirect(w, r, "/cluster", msg)
}

// apiFault answers POST /api/cluster/nodes/{id}/{action}: 202
// {"action","node"} once the fault is injected (a freeze or cut heals by
// itself later).
func (h *Handlers) apiFault(w http.ResponseWriter, r *http.Request) {
	id, action := r.PathValue("id"), r.PathValue("action")
	if err := h.fault(r.Context(), id, action); err != nil {
		code, name := faultStatus(err)
		writeJSON(w, code, apiError{Error: apiErrorBody{Code: name, Message: err.Error()}})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"action": action, "node": id})
}
