package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gallows-game/gallows/frontend/internal/session"
	"github.com/gallows-game/gallows/gameclient"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// A player is a session (package session): a player id the frontend
// issued, with the name the player chose, in a token signed with the key
// every frontend shares. Pages carry it in the session cookie, the JSON
// API in an "Authorization: Bearer" header, a websocket in either (the
// cookie, for a browser's page). Every write goes to the backends as the
// session's player, name and id: nobody plays under another's name, a
// session only ever acts as itself.

// pickNickname is what a page, a form's redirect or a socket says to a
// player without a session.
const pickNickname = "Pick a nickname to play."

// badNickname is what a form's redirect says of a nickname it refused.
const badNickname = "Pick a nickname of 1 to 24 characters."

// pageSession returns the session of r's cookie, if it holds a valid one.
func (h *Handlers) pageSession(r *http.Request) (session.Session, bool) {
	s, err := h.sessions.FromCookie(r)
	return s, err == nil
}

// playerName is the name of r's session (its cookie), or "": the "Playing
// as" of every page.
func (h *Handlers) playerName(r *http.Request) string {
	s, _ := h.pageSession(r)
	return s.Name
}

// apiSession returns the session of r's bearer token, or an error that
// wraps errUnauthorized (401).
func (h *Handlers) apiSession(r *http.Request) (session.Session, error) {
	s, err := h.sessions.FromHeader(r)
	if err != nil {
		h.log.Debug("api request without a valid session", "path", r.URL.Path, "err", err)
		return session.Session{}, fmt.Errorf("%w: send the token of POST /api/players as \"Authorization: Bearer <token>\"", errUnauthorized)
	}
	return s, nil
}

// socketSession returns the session of a websocket's upgrade request: its
// cookie (a browser's page), else its bearer token (a bot).
func (h *Handlers) socketSession(r *http.Request) (session.Session, bool) {
	if s, ok := h.pageSession(r); ok {
		return s, true
	}
	s, err := h.sessions.FromHeader(r)
	return s, err == nil
}

// startSession issues a session named name, or renames r's session (its
// cookie or bearer token, if valid) keeping its player id, and sets the
// session cookie for a page. seed, if not empty, makes a new session's id
// the one session.Issuer.IssueFor derives from it.
func (h *Handlers) startSession(w http.ResponseWriter, r *http.Request, name, seed string, cookie bool) (session.Session, string, error) {
	var (
		s     session.Session
		token string
		err   error
	)
	old, ok := h.socketSession(r)
	switch {
	case ok:
		s, token, err = h.sessions.Rename(old, name)
	case seed != "":
		s, token, err = h.sessions.IssueFor(seed, name)
	default:
		s, token, err = h.sessions.Issue(name)
	}
	if err != nil {
		return s, "", refuse(errBadRequest, badNickname, err)
	}
	if cookie {
		session.SetCookie(w, r, token)
	}
	return s, token, nil
}

// requireSession returns the session of a form post's cookie; without one
// it sends the browser to the home page to pick a nickname, with the
// room's code filled in.
func (h *Handlers) requireSession(w http.ResponseWriter, r *http.Request) (session.Session, bool) {
	s, ok := h.pageSession(r)
	if !ok {
		redirect(w, r, "/?code="+url.QueryEscape(r.PathValue("id")), pickNickname)
	}
	return s, ok
}

// join makes s a player of record of room id (the backends' Join) and
// returns the room: joining again under the same name changes nothing.
func (h *Handlers) joinRoom(ctx context.Context, id string, s session.Session) (*pb.Room, error) {
	return h.cfg.Game.Join(ctx, &pb.JoinRequest{RoomId: id, Player: s.Name, PlayerId: s.ID})
}

// playerBody is the body of POST /api/players.
type playerBody struct {
	Name string `json:"name"`
}

// playerJSON is a session as POST /api/players answers it.
type playerJSON struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Token string `json:"token"`
}

// apiPlayers issues a session: 201 {"id","name","token"}. With a valid
// bearer token it renames that session instead: the same id under the
// new name.
func (h *Handlers) apiPlayers(w http.ResponseWriter, r *http.Request) {
	var b playerBody
	if err := decode(w, r, &b); err != nil {
		h.apiFail(w, err)
		return
	}
	s, token, err := h.startSession(w, r, b.Name, "", false)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, playerJSON{ID: s.ID, Name: s.Name, Token: token})
}

// apiJoin makes the session a player of record of the room: 200 Room.
func (h *Handlers) apiJoin(w http.ResponseWriter, r *http.Request) {
	s, err := h.apiSession(r)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	if err := decodeOptional(w, r); err != nil {
		h.apiFail(w, err)
		return
	}
	room, err := h.joinRoom(r.Context(), r.PathValue("id"), s)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, roomJSON(room))
}

// apiLeave takes the session out of the room's players of record: 200
// Room. A session leaves as itself; there is no way to name another.
func (h *Handlers) apiLeave(w http.ResponseWriter, r *http.Request) {
	s, err := h.apiSession(r)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	room, err := h.cfg.Game.Leave(r.Context(), &pb.LeaveRequest{RoomId: r.PathValue("id"), PlayerId: s.ID})
	if err != nil {
		h.apiFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, roomJSON(room))
}

// decodeOptional accepts an empty body, or one JSON object without fields.
func decodeOptional(w http.ResponseWriter, r *http.Request) error {
	if r.ContentLength == 0 {
		return nil
	}
	var empty struct{}
	return decode(w, r, &empty)
}

// joinForm is the nickname form of the home and room pages: it issues a
// session under the name (or renames this browser's, keeping its player
// id) and sends the player to the room of the code.
func (h *Handlers) joinForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	code := strings.ToUpper(strings.TrimSpace(r.FormValue("code")))
	if _, _, err := h.startSession(w, r, r.FormValue("player"), "", true); err != nil {
		redirect(w, r, "/?code="+url.QueryEscape(code), badNickname)
		return
	}
	if code == "" {
		redirect(w, r, "/", "Type a room code to join.")
		return
	}
	http.Redirect(w, r, "/rooms/"+url.PathEscape(code), http.StatusSeeOther)
}

// leaveForm takes this browser's session out of the room's players of
// record and goes back to the home page.
func (h *Handlers) leaveForm(w http.ResponseWriter, r *http.Request) {
	s, ok := h.requireSession(w, r)
	if !ok {
		return
	}
	if _, err := h.cfg.Game.Leave(r.Context(), &pb.LeaveRequest{RoomId: r.PathValue("id"), PlayerId: s.ID}); err != nil {
		h.backToRoom(w, r, err)
		return
	}
	redirect(w, r, "/", "You left room "+strings.ToUpper(r.PathValue("id"))+".")
}

// spectate reports whether err, from joining a room, leaves the session
// watching the room rather than failing the page: the name is someone
// else's there, or the room has no seat.
func spectate(err error) bool {
	switch gameclient.Reason(err) {
	case pb.ErrorReason_ERROR_REASON_NAME_TAKEN, pb.ErrorReason_ERROR_REASON_ROOM_FULL:
		return true
	}
	return false
}
