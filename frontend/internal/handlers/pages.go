package handlers

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"github.com/gallows-game/gallows/gameclient"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
	"github.com/gallows-game/gallows/web"
)

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
	h.render(w, r, code, web.Error(web.ErrorPage{Page: h.page("Error", h.playerName(r)), Status: code, Message: msg}))
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
	p := web.HomePage{
		Page: h.page("Gallows", h.playerName(r)), JoinCode: r.URL.Query().Get("code"), CreateRequest: gameclient.NewRequestID(),
		Form: web.CreateForm{Rounds: defaultFormRounds},
	}
	h.renderHome(w, r, http.StatusOK, p)
}

// defaultFormRounds is the match length the create form starts with.
const defaultFormRounds = 5

// renderHome fills in the home page's categories and open rooms and
// writes it with the given status.
func (h *Handlers) renderHome(w http.ResponseWriter, r *http.Request, code int, p web.HomePage) {
	ctx := r.Context() // the game client's call timeout bounds each call
	cats, err := h.cfg.Game.Categories(ctx)
	if err != nil {
		_, _, p.Error = classify(err, gameclient.Reason(err))
	}
	p.Categories, p.Difficulties = cats.GetCategories(), cats.GetDifficulties()
	// One page of the open rooms, with a link to the next.
	p.Rooms, p.MoreRoomsAfter, err = h.openRooms(ctx, r.URL.Query().Get("after"))
	if err != nil {
		_, _, p.Error = classify(err, gameclient.Reason(err))
	}
	if msg := takeFlash(w, r); msg != "" && p.Error == "" {
		p.Error = msg
	}
	h.render(w, r, code, web.Home(p))
}

// createForm reads the create form's fields as posted; an empty number
// is 0 (endless, no countdown). A number that does not parse is refused
// (errBadRequest), the form kept as far as it was read.
func createForm(r *http.Request) (web.CreateForm, error) {
	f := web.CreateForm{
		Category: r.FormValue("category"), Difficulty: r.FormValue("difficulty"), Word: strings.TrimSpace(r.FormValue("word")),
		Private: r.FormValue("private") == "on",
	}
	for _, n := range []struct {
		field, say string
		to         *int
	}{
		{"rounds", "The number of rounds is a whole number.", &f.Rounds},
		{"turn_seconds", "The time per guess is a whole number of seconds.", &f.TurnSeconds},
	} {
		if v := r.FormValue(n.field); v != "" {
			i, err := strconv.ParseInt(v, 10, 32)
			if err != nil {
				return f, refuse(errBadRequest, n.say, err)
			}
			*n.to = int(i)
		}
	}
	return f, nil
}

// createRoomForm creates a room hosted by this browser's session: the
// form's nickname issues one (or renames this browser's, keeping its
// player id); without a nickname, the session of the cookie hosts.
func (h *Handlers) createRoomForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	s, ok := h.pageSession(r)
	if name := r.FormValue("player"); strings.TrimSpace(name) != "" {
		var err error
		// Seeded with the form's request id: the form sent twice before
		// the browser has the first answer's cookie (a double click)
		// hosts the one room as one player.
		seed := ""
		if id := r.FormValue("request_id"); id != "" {
			seed = "create\x00" + id
		}
		if s, _, err = h.startSession(w, r, name, seed, true); err != nil {
			redirect(w, r, "/", badNickname)
			return
		}
	} else if !ok {
		redirect(w, r, "/", pickNickname)
		return
	}
	f, err := createForm(r)
	var room *pb.Room
	if err == nil {
		room, err = h.cfg.Game.CreateRoom(r.Context(), &pb.CreateRoomRequest{
			Host: s.Name, PlayerId: s.ID, Category: f.Category, Difficulty: f.Difficulty, Word: f.Word,
			Rounds: int32(f.Rounds), Private: f.Private, TurnSeconds: int32(f.TurnSeconds),
			RequestId: r.FormValue("request_id"),
		})
	}
	if err != nil {
		// The form again as the player filled it, with what to change.
		code, _, msg := classify(err, gameclient.Reason(err))
		h.renderHome(w, r, code, web.HomePage{
			Page: h.page("Gallows", s.Name), CreateRequest: gameclient.NewRequestID(), Error: msg, Form: f,
		})
		return
	}
	http.Redirect(w, r, "/rooms/"+room.GetId(), http.StatusSeeOther)
}

// roomPage shows a room. A session joins it at once, as a player of
// record; a session whose name someone else has in the room (or a room
// without a seat) watches, as a visitor without a session does, with a
// form to pick a nickname.
func (h *Handlers) roomPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s, ok := h.pageSession(r)
	// ?watch=1 watches without joining: a spectator's page.
	watching := r.URL.Query().Get("watch") == "1"
	var (
		room *pb.Room
		err  error
		note string
	)
	if ok && !watching {
		room, err = h.joinRoom(r.Context(), id, s)
		if spectate(err) {
			_, _, note = classify(err, gameclient.Reason(err))
			ok = false
			room, err = h.cfg.Game.GetRoom(r.Context(), id)
		}
	} else {
		room, err = h.cfg.Game.GetRoom(r.Context(), id)
	}
	if err != nil {
		h.errorPage(w, r, err)
		return
	}
	player := ""
	if ok && !watching {
		player = s.Name
	}
	if msg := takeFlash(w, r); msg != "" {
		note = msg
	}
	view := roomView(room, "")
	markOnline(&view, h.online(r.Context(), room.GetId()))
	p := web.RoomPage{
		Page: h.page("Room "+room.GetId(), h.playerName(r)), RoomPlayer: player, Room: view, Error: note,
		InviteURL: inviteURL(r, room.GetId()), Watching: watching,
	}
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

// guessForm guesses as this browser's session; a posted player field is
// ignored.
func (h *Handlers) guessForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	s, ok := h.requireSession(w, r)
	if !ok {
		return
	}
	round, err := parseRound(r.FormValue("round"))
	if err == nil {
		_, err = h.guess(r.Context(), r.PathValue("id"), s, guessBody{
			Letter: r.FormValue("letter"), RequestID: r.FormValue("request_id"), Round: round,
		}, true)
	}
	h.backToRoom(w, r, err)
}

// nextRoundForm starts the next round as this browser's session (the
// backends let only the host); a posted player field is ignored.
func (h *Handlers) nextRoundForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	s, ok := h.requireSession(w, r)
	if !ok {
		return
	}
	round, err := parseRound(r.FormValue("round"))
	if err != nil {
		h.backToRoom(w, r, err)
		return
	}
	// The match of the round: a form posted late, after a rematch began
	// round 1 again, ends nothing.
	match, err := parseMatch(r.FormValue("match"))
	if err == nil {
		_, err = h.cfg.Game.NextRound(r.Context(), &pb.NextRoundRequest{
			RoomId: r.PathValue("id"), Player: s.Name, PlayerId: s.ID, Round: round, Match: match, Word: strings.TrimSpace(r.FormValue("word")),
		})
	}
	h.backToRoom(w, r, err)
}

func (h *Handlers) clusterPage(w http.ResponseWriter, r *http.Request) {
	p := web.ClusterPage{Page: h.page("Cluster", h.playerName(r)), Cluster: h.clusterPanel(h.cfg.Game.Cluster()), Notice: takeFlash(w, r)}
	h.render(w, r, http.StatusOK, web.Cluster(p))
}

func (h *Handlers) leaderboardPage(w http.ResponseWriter, r *http.Request) {
	board, err := h.cachedLeaderboard(r.Context())
	if err != nil {
		h.errorPage(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, web.Leaderboard(web.LeaderboardPage{Page: h.page("Leaderboard", h.playerName(r)), Entries: board}))
}
