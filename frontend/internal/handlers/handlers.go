// Package handlers serves the frontend's HTTP surface: the templ pages and
// their plain form posts (which work without JavaScript), the JSON API for
// bots and tests, and the websocket endpoints that keep tabs live.
package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gallows-game/gallows/frontend/internal/hub"
	"github.com/gallows-game/gallows/frontend/internal/limits"
	"github.com/gallows-game/gallows/frontend/internal/session"
	"github.com/gallows-game/gallows/frontend/internal/timeline"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
	"github.com/gallows-game/gallows/web"
)

// Game is what the handlers need from the backends.
type Game interface {
	Categories(ctx context.Context) (*pb.CategoriesReply, error)
	CreateRoom(ctx context.Context, req *pb.CreateRoomRequest) (*pb.Room, error)
	GetRoom(ctx context.Context, id string) (*pb.Room, error)
	GetRoomStale(ctx context.Context, id string) (*pb.Room, error)
	ListRooms(ctx context.Context, req *pb.ListRoomsRequest) (*pb.ListRoomsReply, error)
	Guess(ctx context.Context, req *pb.GuessRequest) (*pb.GuessReply, error)
	NextRound(ctx context.Context, req *pb.NextRoundRequest) (*pb.Room, error)
	Rematch(ctx context.Context, req *pb.RematchRequest) (*pb.Room, error)
	ExpireTurn(ctx context.Context, req *pb.ExpireTurnRequest) (*pb.Room, error)
	Join(ctx context.Context, req *pb.JoinRequest) (*pb.Room, error)
	Leave(ctx context.Context, req *pb.LeaveRequest) (*pb.Room, error)
	Cluster() *pb.ClusterStatus
	WatchCluster(ctx context.Context) <-chan *pb.ClusterStatus
	WatchRoom(ctx context.Context, id string, fromVersion uint64) (<-chan *pb.RoomEvent, error)
	// TopScores, ReportPresence and Online use the backends' scores and
	// presence gossip, which needs no quorum.
	TopScores(ctx context.Context, req *pb.TopRequest) (*pb.TopReply, error)
	ReportPresence(ctx context.Context, req *pb.PresenceReport) error
	Online(ctx context.Context, room string) ([]*pb.PresenceEntry, error)
}

// Config configures the handlers.
type Config struct {
	// ID names this frontend on its pages.
	ID string
	// Game reaches the backends.
	Game Game
	// AllowedOrigins may open websockets and post forms besides the page's
	// own origin, e.g. "https://play.example.com".
	AllowedOrigins []string
	// Registry receives the frontend's metrics (nil: a new one).
	Registry *prometheus.Registry
	// Logger receives the handlers' logs.
	Logger *slog.Logger
	// Sessions issues and verifies the players' sessions (nil: an issuer
	// with a random key, whose sessions no other frontend knows).
	Sessions *session.Issuer
	// Limits, if set, limits the websocket messages of each session over
	// all its sockets; SocketRate limits each socket's (zero: the hub's
	// defaults). The limits of HTTP requests are applied in front of the
	// handlers (limits.Limiters.Handler).
	Limits *limits.Limiters
	// SocketRate is the message rate limit of each websocket.
	SocketRate limits.Rate
	// Faults, if set, puts fault buttons on the cluster panel and serves
	// POST /cluster/nodes/{id}/{action} and its JSON API twin; nil: no
	// buttons, and those answer 404 (see faults.go).
	Faults Faults
	// Timeline, if set, is the failover timeline the cluster panel shows
	// (see timeline.go); nil: none.
	Timeline *timeline.Recorder
}

// Handlers holds the routes and the websocket hub.
type Handlers struct {
	cfg     Config
	log     *slog.Logger
	hub     *hub.Hub
	metrics *metrics
	mux     *http.ServeMux
	// sessions is Config.Sessions, or the random-key issuer in its place.
	sessions *session.Issuer
	// clusterVersion numbers the cluster panel's frames,
	// leaderboardVersion the leaderboard's.
	clusterVersion     atomic.Uint64
	leaderboardVersion atomic.Uint64
	// board is the leaderboard, computed at most every leaderboardTTL.
	board leaderboardCache
	// presence is the sessions this frontend holds, as it reports them;
	// onlineCache who is online everywhere, as the backends say.
	presence    *presence
	onlineCache onlineCache
}

// New builds the routes.
func New(cfg Config) *Handlers {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	h := &Handlers{cfg: cfg, log: cfg.Logger, metrics: newMetrics(cfg.Registry), sessions: cfg.Sessions, presence: newPresence()}
	if h.sessions == nil {
		// A key of the right size never fails.
		h.sessions, _ = session.New(session.NewKey(), nil)
	}
	h.hub = hub.New(hub.Config{
		Source:      h.source,
		OnMessage:   h.onMessage,
		RatePerSec:  cfg.SocketRate.PerSecond,
		RateBurst:   cfg.SocketRate.Burst,
		Admit:       h.admitMessage,
		RateLimited: mustJSON(wsError{Type: "error", Code: "rate_limited", Message: "Slow down: too many messages."}),
		Logger:      cfg.Logger,
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.home)
	mux.HandleFunc("POST /join", h.joinForm)
	mux.HandleFunc("POST /rooms", h.createRoomForm)
	mux.HandleFunc("GET /rooms/{id}", h.roomPage)
	mux.HandleFunc("GET /rooms/{id}/qr.png", h.inviteQR)
	mux.HandleFunc("POST /rooms/{id}/guesses", h.guessForm)
	mux.HandleFunc("POST /rooms/{id}/rounds", h.nextRoundForm)
	mux.HandleFunc("POST /rooms/{id}/rematches", h.rematchForm)
	mux.HandleFunc("POST /rooms/{id}/leave", h.leaveForm)
	mux.HandleFunc("GET /cluster", h.clusterPage)
	mux.HandleFunc("POST /cluster/nodes/{id}/{action}", h.faultForm)
	mux.HandleFunc("GET /leaderboard", h.leaderboardPage)

	mux.HandleFunc("POST /api/players", h.apiPlayers)
	mux.HandleFunc("POST /api/rooms", h.apiCreateRoom)
	mux.HandleFunc("GET /api/rooms", h.apiListRooms)
	mux.HandleFunc("GET /api/rooms/{id}", h.apiGetRoom)
	mux.HandleFunc("POST /api/rooms/{id}/guesses", h.apiGuess)
	mux.HandleFunc("POST /api/rooms/{id}/rounds", h.apiNextRound)
	mux.HandleFunc("POST /api/rooms/{id}/rematches", h.apiRematch)
	mux.HandleFunc("POST /api/rooms/{id}/timeouts", h.apiTimeout)
	mux.HandleFunc("POST /api/rooms/{id}/players", h.apiJoin)
	mux.HandleFunc("DELETE /api/rooms/{id}/players", h.apiLeave)
	mux.HandleFunc("GET /api/rooms/{id}/presence", h.apiPresence)
	mux.HandleFunc("GET /api/cluster", h.apiCluster)
	mux.HandleFunc("POST /api/cluster/nodes/{id}/{action}", h.apiFault)
	mux.HandleFunc("GET /api/leaderboard", h.apiLeaderboard)

	mux.HandleFunc("GET /ws/rooms/{id}", h.wsRoom)
	mux.HandleFunc("GET /ws/cluster", h.wsCluster)
	mux.HandleFunc("GET /ws/leaderboard", h.wsLeaderboard)

	mux.Handle("GET "+web.StaticPath, web.StaticHandler())
	h.mux = mux
	return h
}

// ServeHTTP serves every route. Cross-origin form posts are refused; the
// JSON API is for same-origin pages, bots and tools without an Origin.
func (h *Handlers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

// Hub is the websocket hub (for tests and shutdown).
func (h *Handlers) Hub() *hub.Hub { return h.hub }

// Close closes every websocket.
func (h *Handlers) Close() { h.hub.Close() }

// originAllowed accepts requests without an Origin (not from a browser),
// from the page's own origin, and from the allowlist.
func (h *Handlers) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, o := range h.cfg.AllowedOrigins {
		if strings.EqualFold(strings.TrimRight(o, "/"), origin) {
			return true
		}
	}
	return false
}

func (h *Handlers) page(title, player string) web.Page {
	return web.Page{Title: title, Frontend: h.cfg.ID, Player: player}
}
