package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/gallows-game/gallows/frontend/internal/hub"
	"github.com/gallows-game/gallows/frontend/internal/session"
	"github.com/gallows-game/gallows/gameclient"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
	"github.com/gallows-game/gallows/web"
)

// Topics of the hub: one per room, and one for the cluster panel.
const (
	roomTopicPrefix  = "room:"
	clusterTopic     = "cluster"
	leaderboardTopic = "leaderboard"
)

// wsState is a room state for every socket of the room (docs/PROTOCOL.md).
type wsState struct {
	Type     string `json:"type"`
	Version  uint64 `json:"version"`
	HTML     string `json:"html"`
	Announce string `json:"announce"`
}

// wsClusterMsg is a cluster panel or leaderboard update.
type wsClusterMsg struct {
	Type    string `json:"type"`
	Version uint64 `json:"version"`
	HTML    string `json:"html"`
}

// wsIn is a message from a tab: a guess, next_round, rematch or timeout
// (docs/PROTOCOL.md).
type wsIn struct {
	Type      string `json:"type"`
	Letter    string `json:"letter"`
	RequestID string `json:"request_id"`
	Round     int64  `json:"round"`
	// Match is the match a rematch ends (0: the match now).
	Match int32 `json:"match"`
	// Word is the host's word for a next round or rematch of a
	// custom-word room (empty: one from the lists).
	Word string `json:"word"`
	// Version is the room's version whose turn a timeout says ran out.
	Version uint64 `json:"version"`
}

// wsAck answers one tab's request.
type wsAck struct {
	Type      string `json:"type"`
	RequestID string `json:"request_id"`
	Version   uint64 `json:"version"`
}

// wsError answers one tab's refused request.
type wsError struct {
	Type      string `json:"type"`
	RequestID string `json:"request_id,omitempty"`
	Code      string `json:"code"`
	Message   string `json:"message"`
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("handlers: marshal %T: %v", v, err))
	}
	return b
}

// sessionKey is the context key of a socket's session, if it has one.
type sessionKey struct{}

// messageKey is the context key of a socket's key in the session message
// limit (limits.Limiters.MessageKey).
type messageKey struct{}

// admitMessage applies the session's message limit, shared by all its
// sockets, to one message of the socket with context ctx (hub.Config.Admit).
func (h *Handlers) admitMessage(ctx context.Context) bool {
	key, ok := ctx.Value(messageKey{}).(string)
	if h.cfg.Limits == nil || !ok {
		return true
	}
	return h.cfg.Limits.AllowMessage(key)
}

// wsRoom opens a room's socket. A socket with a session (the page's
// cookie, or a bot's bearer token) makes it a player of record at once;
// one whose name someone else has in the room, or that finds no seat,
// still watches, and its guesses are refused as the backends say.
func (h *Handlers) wsRoom(w http.ResponseWriter, r *http.Request) {
	if !h.checkOrigin(w, r) {
		return
	}
	id := strings.ToUpper(r.PathValue("id"))
	var err error
	// A session joins the room it opens, unless it only watches (?watch=1).
	if s, ok := h.socketSession(r); ok && r.URL.Query().Get("watch") != "1" {
		if _, err = h.joinRoom(r.Context(), id, s); spectate(err) {
			err = nil
		}
	} else {
		_, err = h.cfg.Game.GetRoom(r.Context(), id)
	}
	if gameclient.Reason(err) == pb.ErrorReason_ERROR_REASON_NOT_FOUND {
		h.refuseGoneRoom(w, r)
		return
	}
	if err != nil {
		code, _, msg := classify(err, gameclient.Reason(err))
		http.Error(w, msg, code)
		return
	}
	h.serveWS(w, r, roomTopicPrefix+id)
}

// closeRoomGone is the close code of a room socket whose room does not
// exist (any more): final, the tab stops reconnecting and says so.
const closeRoomGone = 4404

// refuseGoneRoom answers a socket for a room that does not exist: it
// upgrades, so that the tab can read why, and closes with closeRoomGone.
// (A refusal before the upgrade reaches a script only as a failed
// connection, which it would retry for good.)
func (h *Handlers) refuseGoneRoom(w http.ResponseWriter, r *http.Request) {
	ws, err := hub.NewUpgrader(h.originAllowed).Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	defer ws.Close()
	_, code, msg := classify(errRoomGone, pb.ErrorReason_ERROR_REASON_NOT_FOUND)
	_ = ws.SetWriteDeadline(time.Now().Add(time.Second))
	_ = ws.WriteMessage(websocket.TextMessage, mustJSON(wsError{Type: "error", Code: code, Message: msg}))
	_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(closeRoomGone, "room not found"))
}

// errRoomGone is a socket's room that does not exist.
var errRoomGone = errors.New("room not found")

func (h *Handlers) wsCluster(w http.ResponseWriter, r *http.Request) {
	h.serveWS(w, r, clusterTopic)
}

func (h *Handlers) wsLeaderboard(w http.ResponseWriter, r *http.Request) {
	h.serveWS(w, r, leaderboardTopic)
}

// checkOrigin refuses (403) an upgrade from another origin than the
// page's own or an allowed one; it reports whether r may go on.
func (h *Handlers) checkOrigin(w http.ResponseWriter, r *http.Request) bool {
	if !h.originAllowed(r) {
		h.metrics.wsRefused.Inc()
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return false
	}
	return true
}

func (h *Handlers) serveWS(w http.ResponseWriter, r *http.Request, topic string) {
	if !h.checkOrigin(w, r) {
		return
	}
	since, _ := strconv.ParseUint(r.URL.Query().Get("since"), 10, 64)
	s, hasSession := h.socketSession(r)
	up := hub.NewUpgrader(h.originAllowed)
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	h.metrics.wsOpen.Inc()
	// Start returns at once: the handler's buffers are freed while the
	// socket lives on in the hub, which keeps idle sockets cheap.
	ctx := context.WithoutCancel(r.Context())
	if hasSession {
		ctx = context.WithValue(ctx, sessionKey{}, s)
	}
	if h.cfg.Limits != nil {
		ctx = context.WithValue(ctx, messageKey{}, h.cfg.Limits.MessageKey(r))
	}
	room, isRoom := strings.CutPrefix(topic, roomTopicPrefix)
	if hasSession && isRoom {
		h.presence.add(s, room)
	}
	h.hub.Start(ctx, topic, ws, since, func(err error) {
		if hasSession && isRoom {
			h.presence.remove(s, room)
		}
		h.metrics.wsOpen.Dec()
		if err != nil {
			h.log.Debug("websocket ended", "topic", topic, "err", err)
		}
	})
}

// source produces a topic's frames while tabs watch it: one watch stream
// per room per frontend, each state rendered once for every socket.
func (h *Handlers) source(ctx context.Context, topic string, publish func(hub.Frame)) error {
	switch topic {
	case clusterTopic:
		return h.clusterSource(ctx, publish)
	case leaderboardTopic:
		return h.leaderboardSource(ctx, publish)
	}
	// Returning ends the watch: the hub may start the source again.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	id := strings.TrimPrefix(topic, roomTopicPrefix)
	events, err := h.cfg.Game.WatchRoom(ctx, id, 0)
	if err != nil {
		return fmt.Errorf("watch room %s: %w", id, err)
	}
	// Who is online changes without the room changing: the same version
	// is rendered again, as a later Sub of it.
	poll := time.NewTicker(presencePoll)
	defer poll.Stop()
	var (
		buf      bytes.Buffer
		room     *pb.Room
		servedBy string
		online   = h.online(ctx, id)
		sub      uint64
	)
	render := func() error {
		buf.Reset()
		v := roomView(room, servedBy)
		markOnline(&v, online)
		if err := web.RoomFragment(v).Render(ctx, &buf); err != nil {
			return fmt.Errorf("render room %s: %w", id, err)
		}
		publish(hub.Frame{Version: room.GetVersion(), Sub: sub, Data: mustJSON(wsState{
			Type: "state", Version: room.GetVersion(), HTML: buf.String(), Announce: announce(room),
		})})
		h.metrics.frames.Inc()
		return nil
	}
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("watch of room %s ended", id)
			}
			room, servedBy, sub = ev.GetRoom(), ev.GetServedBy(), 0
			if err := render(); err != nil {
				return err
			}
		case <-poll.C:
			now := h.online(ctx, id)
			if now == nil || sameOnline(now, online) {
				continue
			}
			online = now
			if room != nil {
				sub++
				if err := render(); err != nil {
					return err
				}
			}
		}
	}
}

// markOnline marks the players of v whose names are online.
func markOnline(v *web.RoomView, online map[string]bool) {
	v.Online = 0
	for i := range v.Players {
		v.Players[i].Online = online[v.Players[i].Name]
		if v.Players[i].Online {
			v.Online++
		}
	}
}

// leaderboardPoll is how often a watched leaderboard asks the backends.
const leaderboardPoll = time.Second

// leaderboardSource produces the leaderboard page's frames: the ranking
// from the scores gossip, rendered again whenever it changes. Versions
// count on across restarts of the source, as the cluster panel's do.
func (h *Handlers) leaderboardSource(ctx context.Context, publish func(hub.Frame)) error {
	t := time.NewTicker(leaderboardPoll)
	defer t.Stop()
	var buf bytes.Buffer
	last := ""
	for {
		if board, err := h.cachedLeaderboard(ctx); err == nil {
			buf.Reset()
			if err := web.LeaderboardBody(board).Render(ctx, &buf); err != nil {
				return fmt.Errorf("render leaderboard: %w", err)
			}
			if html := buf.String(); html != last {
				last = html
				version := h.leaderboardVersion.Add(1)
				publish(hub.Frame{Version: version, Data: mustJSON(wsClusterMsg{Type: "leaderboard", Version: version, HTML: html})})
				h.metrics.frames.Inc()
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// clusterSource produces the cluster panel's frames. Their versions count
// on from the source before, if the hub restarts it, since the hub drops
// frames older than the last it sent.
func (h *Handlers) clusterSource(ctx context.Context, publish func(hub.Frame)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var buf bytes.Buffer
	for st := range h.cfg.Game.WatchCluster(ctx) {
		version := h.clusterVersion.Add(1)
		buf.Reset()
		if err := web.ClusterBody(h.clusterPanel(st)).Render(ctx, &buf); err != nil {
			return fmt.Errorf("render cluster: %w", err)
		}
		publish(hub.Frame{Version: version, Data: mustJSON(wsClusterMsg{Type: "cluster", Version: version, HTML: buf.String()})})
	}
	return nil
}

// onMessage handles a tab's guess, next round, rematch or timeout and
// answers that tab alone; the new state reaches every tab through the
// room's watch.
func (h *Handlers) onMessage(ctx context.Context, c *hub.Conn, msg []byte) {
	room, ok := strings.CutPrefix(c.Topic(), roomTopicPrefix)
	if !ok {
		return
	}
	var in wsIn
	if err := json.Unmarshal(msg, &in); err != nil {
		c.Send(mustJSON(wsError{Type: "error", Code: "bad_request", Message: "Messages are JSON objects (see docs/PROTOCOL.md)."}))
		return
	}
	s, ok := ctx.Value(sessionKey{}).(session.Session)
	if !ok {
		_, code, message := classify(errUnauthorized, pb.ErrorReason_ERROR_REASON_UNSPECIFIED)
		c.Send(mustJSON(wsError{Type: "error", RequestID: in.RequestID, Code: code, Message: message}))
		return
	}
	// The game client's call timeout bounds the request: the one timeout
	// between a frontend and the backends.
	var version uint64
	var err error
	switch in.Type {
	case "guess":
		var reply *pb.GuessReply
		// The ack needs only the version: the tab gets the room from
		// the room's watch, so the reply leaves out players and log.
		reply, err = h.guess(ctx, room, s, guessBody{Letter: in.Letter, RequestID: in.RequestID, Round: in.Round}, true)
		version = reply.GetRoom().GetVersion()
	case "next_round":
		var r *pb.Room
		r, err = h.cfg.Game.NextRound(ctx, &pb.NextRoundRequest{RoomId: room, Player: s.Name, PlayerId: s.ID, Round: in.Round, Match: in.Match, Word: in.Word})
		version = r.GetVersion()
	case "rematch":
		var r *pb.Room
		r, err = h.rematch(ctx, room, s, rematchBody{Match: in.Match, Word: in.Word})
		version = r.GetVersion()
	case "timeout":
		var r *pb.Room
		r, err = h.expireTurn(ctx, room, in.Version)
		version = r.GetVersion()
	default:
		err = refuse(errBadRequest, "Messages are of type guess, next_round, rematch or timeout (see docs/PROTOCOL.md).", fmt.Errorf("message type %q", in.Type))
	}
	if err != nil {
		_, code, message := classify(err, gameclient.Reason(err))
		c.Send(mustJSON(wsError{Type: "error", RequestID: in.RequestID, Code: code, Message: message}))
		return
	}
	c.Send(mustJSON(wsAck{Type: "ack", RequestID: in.RequestID, Version: version}))
}

func parseRound(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, refuse(errBadRequest, "The round is a whole number.", err)
	}
	return n, nil
}
