package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/gallows-game/gallows/frontend/internal/session"
	"github.com/gallows-game/gallows/gameclient"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// maxBody bounds every request body.
const maxBody = 4 << 10

// Room is the JSON shape of a room. Word is present only once the round is over.
type Room struct {
	ID        string     `json:"id"`
	Version   uint64     `json:"version"`
	Round     int64      `json:"round"`
	Status    string     `json:"status"`
	Masked    string     `json:"masked"`
	LivesLeft int64      `json:"lives_left"`
	MaxLives  int64      `json:"max_lives"`
	Guessed   []string   `json:"guessed"`
	Wrong     []string   `json:"wrong"`
	Players   []Player   `json:"players"`
	Log       []LogEntry `json:"log"`
	Word      string     `json:"word,omitempty"`
	// Rounds is the match's length, 0 for an endless room; Match counts
	// the room's matches (1, then +1 per rematch); MatchOver says the
	// match's last round is over.
	Rounds    int32 `json:"rounds"`
	Match     int32 `json:"match"`
	MatchOver bool  `json:"match_over"`
	// Private rooms are never listed.
	Private bool `json:"private"`
	// TurnSeconds is each turn's countdown (0: none); TurnDeadlineUnixMs
	// is when the current one runs out (0: no countdown, or the round is
	// over).
	TurnSeconds        int32 `json:"turn_seconds"`
	TurnDeadlineUnixMs int64 `json:"turn_deadline_unix_ms"`
}

// Player is a player of record with the points of the current match.
type Player struct {
	Name   string `json:"name"`
	Points int64  `json:"points"`
}

// LogEntry is one guess of the round, or a turn whose countdown ran out
// (Timeout, with no player or letter).
type LogEntry struct {
	Player  string `json:"player"`
	Letter  string `json:"letter"`
	Hit     bool   `json:"hit"`
	Timeout bool   `json:"timeout,omitempty"`
}

// ClusterStatus is the JSON shape of the cluster.
type ClusterStatus struct {
	Leader string `json:"leader"`
	Nodes  []Node `json:"nodes"`
}

// Node is one backend in ClusterStatus.
type Node struct {
	ID           string `json:"id"`
	Role         string `json:"role"`
	Term         uint64 `json:"term"`
	LastIndex    uint64 `json:"last_index"`
	AppliedIndex uint64 `json:"applied_index"`
	Status       string `json:"status"`
}

func roomJSON(r *pb.Room) Room {
	out := Room{
		ID: r.GetId(), Version: r.GetVersion(), Round: r.GetRound(), Status: statusName(r.GetStatus()),
		Masked: r.GetMasked(), LivesLeft: r.GetLivesLeft(), MaxLives: r.GetMaxLives(),
		Guessed: append([]string{}, r.GetGuessed()...), Wrong: append([]string{}, r.GetWrong()...),
		Players: []Player{}, Log: []LogEntry{},
		Rounds: r.GetRounds(), Match: r.GetMatch(), MatchOver: r.GetMatchOver(), Private: r.GetPrivate(),
		TurnSeconds: r.GetTurnSeconds(), TurnDeadlineUnixMs: r.GetTurnDeadlineUnixMs(),
	}
	if r.GetStatus() == pb.RoundStatus_ROUND_STATUS_WON || r.GetStatus() == pb.RoundStatus_ROUND_STATUS_LOST {
		out.Word = r.GetWord()
	}
	for _, p := range r.GetPlayers() {
		out.Players = append(out.Players, Player{Name: p.GetName(), Points: p.GetPoints()})
	}
	for _, e := range r.GetLog() {
		out.Log = append(out.Log, LogEntry{Player: e.GetPlayer(), Letter: e.GetLetter(), Hit: e.GetHit(), Timeout: e.GetTimeout()})
	}
	return out
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (h *Handlers) apiFail(w http.ResponseWriter, err error) {
	code, name, msg := classify(err, gameclient.Reason(err))
	if code >= 500 && code != http.StatusServiceUnavailable {
		h.log.Error("api request failed", "err", err)
	} else {
		h.log.Debug("api request refused", "code", name, "err", err)
	}
	writeJSON(w, code, apiError{Error: apiErrorBody{Code: name, Message: msg}})
}

// badBody is what a JSON API body decode refuses is answered with.
const badBody = "The body must be one JSON object of this request's fields, at most 4 KiB (see the JSON API in the README)."

// decode reads a small JSON body, refusing unknown fields and a body not
// sent as application/json (parameters such as charset=utf-8 allowed).
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if err := jsonContentType(r); err != nil {
		return err
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return refuse(errBadRequest, badBody, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return refuse(errBadRequest, badBody, errors.New("more than one JSON value"))
	}
	return nil
}

// jsonContentType refuses a request whose Content-Type is not
// application/json, so that a body a browser can send cross-site without
// a preflight (text/plain, a form) is never read as JSON.
func jsonContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return refuse(errUnsupportedMedia, "Send the body as JSON, with the Content-Type application/json.", fmt.Errorf("content type %q", ct))
	}
	return nil
}

// createRoomBody is the body of POST /api/rooms; the host is the session.
type createRoomBody struct {
	Category   string `json:"category"`
	Difficulty string `json:"difficulty"`
	Word       string `json:"word"`
	MaxLives   int64  `json:"max_lives"`
	RequestID  string `json:"request_id"`
	// Rounds is the match's length (0: endless), Private keeps the room
	// out of every list, TurnSeconds is each turn's countdown (0: none).
	Rounds      int32 `json:"rounds"`
	Private     bool  `json:"private"`
	TurnSeconds int32 `json:"turn_seconds"`
}

func (h *Handlers) apiCreateRoom(w http.ResponseWriter, r *http.Request) {
	s, err := h.apiSession(r)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	var b createRoomBody
	if err := decode(w, r, &b); err != nil {
		h.apiFail(w, err)
		return
	}
	room, err := h.cfg.Game.CreateRoom(r.Context(), &pb.CreateRoomRequest{
		Host: s.Name, PlayerId: s.ID, Category: b.Category, Difficulty: b.Difficulty, Word: b.Word, MaxLives: b.MaxLives, RequestId: b.RequestID,
		Rounds: b.Rounds, Private: b.Private, TurnSeconds: b.TurnSeconds,
	})
	if err != nil {
		h.apiFail(w, err)
		return
	}
	w.Header().Set("Location", "/api/rooms/"+room.GetId())
	writeJSON(w, http.StatusCreated, roomJSON(room))
}

// badLevel is what a read of an unknown level is answered with.
const badLevel = "The level is linearizable (the default) or stale."

// apiListRooms answers a page of rooms, ordered by code:
// ?limit (default 50, at most 200) rooms after ?cursor (the next_cursor
// of the page before), read linearizably unless ?level=stale. Private
// rooms are never listed (the backends leave them out).
func (h *Handlers) apiListRooms(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := parseLimit(q.Get("limit"))
	if err != nil {
		h.apiFail(w, err)
		return
	}
	req := &pb.ListRoomsRequest{Limit: limit, Cursor: q.Get("cursor")}
	switch l := q.Get("level"); l {
	case "", "linearizable":
	case "stale":
		req.Level = pb.ReadLevel_READ_LEVEL_STALE
	default:
		h.apiFail(w, refuse(errBadRequest, badLevel, fmt.Errorf("level %q", l)))
		return
	}
	page, err := h.listRooms(r.Context(), req)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	out := struct {
		Rooms      []Room `json:"rooms"`
		NextCursor string `json:"next_cursor,omitempty"`
	}{Rooms: make([]Room, 0, len(page.GetRooms())), NextCursor: page.GetNextCursor()}
	for _, room := range page.GetRooms() {
		out.Rooms = append(out.Rooms, roomJSON(room))
	}
	writeJSON(w, http.StatusOK, out)
}

// apiGetRoom answers with the room read linearizably (it reflects every
// write acknowledged before the request, through any frontend), or, with
// ?level=stale, as a backend has it now: quicker, and perhaps a moment old.
// The Read-Level header of the answer says which.
func (h *Handlers) apiGetRoom(w http.ResponseWriter, r *http.Request) {
	get, level := h.cfg.Game.GetRoom, "linearizable"
	switch q := r.URL.Query().Get("level"); q {
	case "", "linearizable":
	case "stale":
		get, level = h.cfg.Game.GetRoomStale, "stale"
	default:
		h.apiFail(w, refuse(errBadRequest, badLevel, fmt.Errorf("level %q", q)))
		return
	}
	w.Header().Set("Read-Level", level)
	room, err := get(r.Context(), r.PathValue("id"))
	if err != nil {
		h.apiFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, roomJSON(room))
}

// guessBody is the body of POST /api/rooms/{id}/guesses; the guessing
// player is the session.
type guessBody struct {
	Letter    string `json:"letter"`
	RequestID string `json:"request_id"`
	Round     int64  `json:"round"`
}

func (h *Handlers) apiGuess(w http.ResponseWriter, r *http.Request) {
	s, err := h.apiSession(r)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	var b guessBody
	if err := decode(w, r, &b); err != nil {
		h.apiFail(w, err)
		return
	}
	reply, err := h.guess(r.Context(), r.PathValue("id"), s, b, false)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, roomJSON(reply.GetRoom()))
}

// guess sends one guess of session s; without a request id the game
// client makes one, so its own retries stay idempotent. g.Round, if not
// 0, is the round the player saw: a guess sent again once that round is
// over is refused, not applied to the next. brief asks for a reply
// without the room's players and log, for callers that do not show the
// reply's room.
func (h *Handlers) guess(ctx context.Context, room string, s session.Session, g guessBody, brief bool) (*pb.GuessReply, error) {
	reply, err := h.cfg.Game.Guess(ctx, &pb.GuessRequest{
		RoomId: room, Player: s.Name, PlayerId: s.ID, Letter: g.Letter, RequestId: g.RequestID, Round: g.Round, Brief: brief,
	})
	h.metrics.guess(err)
	if err == nil {
		h.guessAcked()
	}
	return reply, err
}

// nextRoundBody is the body of POST /api/rooms/{id}/rounds; the player
// is the session, who must be the room's host.
type nextRoundBody struct {
	Round int64  `json:"round"`
	Match int32  `json:"match"`
	Word  string `json:"word"`
}

func (h *Handlers) apiNextRound(w http.ResponseWriter, r *http.Request) {
	s, err := h.apiSession(r)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	var b nextRoundBody
	if err := decode(w, r, &b); err != nil {
		h.apiFail(w, err)
		return
	}
	room, err := h.cfg.Game.NextRound(r.Context(), &pb.NextRoundRequest{RoomId: r.PathValue("id"), Player: s.Name, PlayerId: s.ID, Round: b.Round, Match: b.Match, Word: b.Word})
	if err != nil {
		h.apiFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, roomJSON(room))
}

// rematchBody is the body of POST /api/rooms/{id}/rematches; the player
// is the session, who must be the room's host.
type rematchBody struct {
	// Match is the match the rematch ends (0: the match now).
	Match int32  `json:"match"`
	Word  string `json:"word"`
}

// apiRematch starts the next match of a room whose match is over: 200 Room.
func (h *Handlers) apiRematch(w http.ResponseWriter, r *http.Request) {
	s, err := h.apiSession(r)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	var b rematchBody
	if err := decode(w, r, &b); err != nil {
		h.apiFail(w, err)
		return
	}
	room, err := h.rematch(r.Context(), r.PathValue("id"), s, b)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, roomJSON(room))
}

// rematch starts the next match of room as session s.
func (h *Handlers) rematch(ctx context.Context, room string, s session.Session, b rematchBody) (*pb.Room, error) {
	return h.cfg.Game.Rematch(ctx, &pb.RematchRequest{RoomId: room, Player: s.Name, PlayerId: s.ID, Match: b.Match, Word: b.Word})
}

// timeoutBody is the body of POST /api/rooms/{id}/timeouts: the room's
// version whose turn ran out.
type timeoutBody struct {
	Version uint64 `json:"version"`
}

// apiTimeout ends the room's current turn if its countdown has run out
// and the room is still at the body's version: 200 Room. Any session may
// send it (every tab of the room does, at the deadline); one applies, the
// others get 409 turn_not_over.
func (h *Handlers) apiTimeout(w http.ResponseWriter, r *http.Request) {
	if _, err := h.apiSession(r); err != nil {
		h.apiFail(w, err)
		return
	}
	var b timeoutBody
	if err := decode(w, r, &b); err != nil {
		h.apiFail(w, err)
		return
	}
	room, err := h.expireTurn(r.Context(), r.PathValue("id"), b.Version)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, roomJSON(room))
}

// expireTurn ends the turn of room at version if its countdown ran out.
func (h *Handlers) expireTurn(ctx context.Context, room string, version uint64) (*pb.Room, error) {
	return h.cfg.Game.ExpireTurn(ctx, &pb.ExpireTurnRequest{RoomId: room, Version: version})
}

func (h *Handlers) apiCluster(w http.ResponseWriter, _ *http.Request) {
	st := h.cfg.Game.Cluster()
	out := ClusterStatus{Leader: st.GetLeaderId(), Nodes: []Node{}}
	for _, n := range st.GetNodes() {
		out.Nodes = append(out.Nodes, Node{
			ID: n.GetId(), Role: n.GetRole(), Term: n.GetTerm(), LastIndex: n.GetLastIndex(),
			AppliedIndex: n.GetAppliedIndex(), Status: n.GetSerfStatus(),
		})
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handlers) apiLeaderboard(w http.ResponseWriter, r *http.Request) {
	board, err := h.cachedLeaderboard(r.Context())
	if err != nil {
		h.apiFail(w, err)
		return
	}
	type entry struct {
		Rank   int    `json:"rank"`
		Name   string `json:"name"`
		Points int    `json:"points"`
		Rooms  int    `json:"rooms"`
	}
	out := struct {
		Entries []entry `json:"entries"`
	}{Entries: []entry{}}
	for _, e := range board {
		out.Entries = append(out.Entries, entry{Rank: e.Rank, Name: e.Name, Points: e.Points, Rooms: e.Rooms})
	}
	writeJSON(w, http.StatusOK, out)
}
