package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/gallows-game/gallows/gameclient"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
	"github.com/gallows-game/gallows/web"
)

// playerCookie remembers a tab's nickname.
const playerCookie = "gallows_player"

func (h *Handlers) render(w http.ResponseWriter, r *http.Request, code int, c templ.Component) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if err := c.Render(r.Context(), w); err != nil {
		h.log.Warn("render page", "path", r.URL.Path, "err", err)
	}
}

func (h *Handlers) errorPage(w http.ResponseWriter, r *http.Request, err error) {
	code, _, msg := classify(err, gameclient.Reason(err))
	h.render(w, r, code, web.Error(web.ErrorPage{Page: h.page("Error", playerOf(r)), Status: code, Message: msg}))
}

// playerOf is the nickname from the form, else from the cookie.
func playerOf(r *http.Request) string {
	if p := strings.TrimSpace(r.FormValue("player")); p != "" {
		return p
	}
	if c, err := r.Cookie(playerCookie); err == nil {
		if v, err := url.QueryUnescape(c.Value); err == nil {
			return v
		}
	}
	return ""
}

func rememberPlayer(w http.ResponseWriter, player string) {
	if player == "" {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: playerCookie, Value: url.QueryEscape(player), Path: "/",
		MaxAge: int((90 * 24 * time.Hour).Seconds()), HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

// flashCookie carries a message to the page a form's redirect leads to.
const flashCookie = "gallows_flash"

// flash keeps msg for the next page this browser loads. It is a cookie
// this server sets, not a query parameter, so that a link cannot put its
// own words on the page.
func flash(w http.ResponseWriter, msg string) {
	http.SetCookie(w, &http.Cookie{
		Name: flashCookie, Value: url.QueryEscape(msg), Path: "/",
		MaxAge: 60, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

// redirect sends the browser on to target (303 See Other), with msg, if
// not empty, to be shown there.
func redirect(w http.ResponseWriter, r *http.Request, target, msg string) {
	if msg != "" {
		flash(w, msg)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// takeFlash returns the message flash kept, if any, and clears it. Call it
// before the page is written.
func takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	msg, err := url.QueryUnescape(c.Value)
	if err != nil {
		return ""
	}
	return msg
}

func (h *Handlers) home(w http.ResponseWriter, r *http.Request) {
	p := web.HomePage{Page: h.page("Gallows", playerOf(r)), JoinCode: r.URL.Query().Get("code"), CreateRequest: gameclient.NewRequestID()}
	ctx := r.Context() // the game client's call timeout bounds each call
	cats, err := h.cfg.Game.Categories(ctx)
	if err != nil {
		_, _, p.Error = classify(err, gameclient.Reason(err))
	}
	p.Categories, p.Difficulties = cats.GetCategories(), cats.GetDifficulties()
	rooms, err := h.cfg.Game.ListRooms(ctx)
	if err != nil {
		_, _, p.Error = classify(err, gameclient.Reason(err))
	}
	for _, room := range rooms {
		if room.GetStatus() == pb.RoundStatus_ROUND_STATUS_PLAYING {
			p.Rooms = append(p.Rooms, roomSummary(room))
		}
	}
	if msg := takeFlash(w, r); msg != "" && p.Error == "" {
		p.Error = msg
	}
	h.render(w, r, http.StatusOK, web.Home(p))
}

// join sends a player to a room by its code.
func (h *Handlers) join(w http.ResponseWriter, r *http.Request) {
	code := strings.ToUpper(strings.TrimSpace(r.FormValue("code")))
	rememberPlayer(w, playerOf(r))
	if code == "" {
		redirect(w, r, "/", "Type a room code to join.")
		return
	}
	http.Redirect(w, r, "/rooms/"+url.PathEscape(code), http.StatusSeeOther)
}

func (h *Handlers) createRoomForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	player := playerOf(r)
	if player == "" {
		redirect(w, r, "/", "Pick a nickname first.")
		return
	}
	rememberPlayer(w, player)
	room, err := h.cfg.Game.CreateRoom(r.Context(), &pb.CreateRoomRequest{
		Host: player, Category: r.FormValue("category"), Difficulty: r.FormValue("difficulty"), Word: strings.TrimSpace(r.FormValue("word")),
		RequestId: r.FormValue("request_id"),
	})
	if err != nil {
		_, _, msg := classify(err, gameclient.Reason(err))
		redirect(w, r, "/", msg)
		return
	}
	http.Redirect(w, r, "/rooms/"+room.GetId(), http.StatusSeeOther)
}

func (h *Handlers) roomPage(w http.ResponseWriter, r *http.Request) {
	room, err := h.cfg.Game.GetRoom(r.Context(), r.PathValue("id"))
	if err != nil {
		h.errorPage(w, r, err)
		return
	}
	player := playerOf(r)
	p := web.RoomPage{Page: h.page("Room "+room.GetId(), player), Room: roomView(room, ""), Error: takeFlash(w, r)}
	h.render(w, r, http.StatusOK, web.Room(p))
}

// backToRoom redirects to the room page, with an error to show if any.
func (h *Handlers) backToRoom(w http.ResponseWriter, r *http.Request, err error) {
	msg := ""
	if err != nil {
		_, _, msg = classify(err, gameclient.Reason(err))
	}
	redirect(w, r, "/rooms/"+url.PathEscape(r.PathValue("id")), msg)
}

// requirePlayer returns the form's or cookie's nickname; without one it
// sends the player to the home page to pick one, with the room's code filled in.
func requirePlayer(w http.ResponseWriter, r *http.Request) (string, bool) {
	player := playerOf(r)
	if player == "" {
		redirect(w, r, "/?code="+url.QueryEscape(r.PathValue("id")), "Pick a nickname to play.")
		return "", false
	}
	return player, true
}

func (h *Handlers) guessForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	player, ok := requirePlayer(w, r)
	if !ok {
		return
	}
	round, err := parseRound(r.FormValue("round"))
	if err == nil {
		_, err = h.guess(r.Context(), r.PathValue("id"), guessBody{
			Player: player, Letter: r.FormValue("letter"), RequestID: r.FormValue("request_id"), Round: round,
		}, true)
	}
	h.backToRoom(w, r, err)
}

func (h *Handlers) nextRoundForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	player, ok := requirePlayer(w, r)
	if !ok {
		return
	}
	round, err := parseRound(r.FormValue("round"))
	if err != nil {
		h.backToRoom(w, r, err)
		return
	}
	_, err = h.cfg.Game.NextRound(r.Context(), &pb.NextRoundRequest{
		RoomId: r.PathValue("id"), Player: player, Round: round, Word: strings.TrimSpace(r.FormValue("word")),
	})
	h.backToRoom(w, r, err)
}

func (h *Handlers) clusterPage(w http.ResponseWriter, r *http.Request) {
	p := web.ClusterPage{Page: h.page("Cluster", playerOf(r)), Cluster: clusterView(h.cfg.Game.Cluster(), "")}
	h.render(w, r, http.StatusOK, web.Cluster(p))
}

func (h *Handlers) leaderboardPage(w http.ResponseWriter, r *http.Request) {
	rooms, err := h.cfg.Game.ListRooms(r.Context())
	if err != nil {
		h.errorPage(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, web.Leaderboard(web.LeaderboardPage{Page: h.page("Leaderboard", playerOf(r)), Entries: leaderboard(rooms)}))
}
