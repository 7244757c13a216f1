// Package frontend composes a Gallows frontend server: a leader-aware
// client of the backends, the pages, the JSON API and the websocket hub.
// Frontends hold no game state; any number can run side by side.
package frontend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gallows-game/gallows/frontend/internal/handlers"
	"github.com/gallows-game/gallows/frontend/internal/limits"
	"github.com/gallows-game/gallows/frontend/internal/session"
	"github.com/gallows-game/gallows/frontend/internal/timeline"
	"github.com/gallows-game/gallows/gameclient"
	"github.com/gallows-game/gallows/internal/pki"
)

// Config configures a frontend.
type Config struct {
	// ID names this frontend on its pages (e.g. f1).
	ID string
	// HTTPAddr is the host:port to serve on (port 0 picks one).
	HTTPAddr string
	// Backends are backend gRPC addresses to start from; the rest of the
	// cluster is learned from them.
	Backends []string
	// AllowedOrigins may open websockets and post forms besides the page's own origin.
	AllowedOrigins []string
	// Logger receives every log of the frontend.
	Logger *slog.Logger
	// Dial, when set, opens the connections to the backends instead of
	// plain TCP: tests that cut or delay links plug in here.
	Dial func(ctx context.Context, addr string) (net.Conn, error)
	// SessionKey signs the players' session tokens (HMAC-SHA256, at least
	// 32 bytes): every frontend of a cluster must have the same, so that
	// a session one frontend issued is recognised by the others. Empty:
	// the frontend makes a random key when it starts, and its sessions
	// work on it alone and only until it restarts.
	SessionKey []byte
	// Limits sets the rate limits (per client IP, per session, per
	// websocket) and the HTTP server's timeouts; its zero value, and each
	// zero field, means the defaults (see README, "Limits").
	Limits Limits
	// TLS is this frontend's certificate (role frontend) and the cluster's
	// CA, presented to the backends, whose certificates (role backend) it
	// checks in turn. Required unless Insecure.
	TLS *pki.Material
	// Insecure talks to backends run with --insecure, in plaintext.
	Insecure bool
	// Faults, when set, puts fault buttons (kill -9, restart, freeze 5 s,
	// cut off 10 s) on the cluster panel and serves them at POST
	// /cluster/nodes/{id}/{action} and /api/cluster/nodes/{id}/{action}.
	// Nil, as in production (gallows frontend has no such flag): no
	// buttons, and those answer 404. gallows dev --fault-buttons sets it.
	Faults Faults
}

// Faults injects faults into the backends for the cluster panel's
// buttons. Each method acts on backend id and returns once the fault is
// in place (a freeze or cut then ends by itself after d). An error
// wrapping ErrUnknownNode is answered 404, one wrapping ErrNodeState 409.
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

// Errors a Faults implementation wraps.
var (
	// ErrUnknownNode: no backend has that id.
	ErrUnknownNode = handlers.ErrUnknownNode
	// ErrNodeState: the backend is not in a state for the action, such
	// as a restart of a running backend or a kill of a stopped one.
	ErrNodeState = handlers.ErrNodeState
)

// NodeError is a refusal of a fault action in words for the panel, e.g.
// "b2 is not running: restart it first", that wraps kind (ErrUnknownNode
// or ErrNodeState) without repeating its text.
func NodeError(kind error, msg string) error { return handlers.NodeError(kind, msg) }

// Limits are a frontend's rate limits and HTTP timeouts: see the fields
// of limits.Config for what each limits and its default.
type Limits = limits.Config

// Rate is one rate limit of Limits: PerSecond tokens a second, up to Burst.
type Rate = limits.Rate

// Validate reports the first invalid setting in words a person can act on.
func (c Config) Validate() error {
	if c.ID == "" {
		return errors.New("--id is required")
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return fmt.Errorf("--http-addr %q: want host:port: %w", c.HTTPAddr, err)
	}
	if len(c.Backends) == 0 {
		return errors.New("--backends: give at least one backend gRPC address")
	}
	for _, b := range c.Backends {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return fmt.Errorf("--backends %q: want host:port: %w", b, err)
		}
	}
	if n := len(c.SessionKey); n > 0 && n < session.KeySize {
		return fmt.Errorf("--session-key-file: a key of %d bytes, want at least %d", n, session.KeySize)
	}
	switch {
	case c.Insecure && c.TLS != nil:
		return errors.New("--insecure with TLS: choose one")
	case !c.Insecure && c.TLS == nil:
		return errors.New("refusing to start without --tls-ca, --tls-cert and --tls-key (create them with gallows tls), or give --insecure to talk to backends run with --insecure")
	case c.TLS != nil && c.TLS.Role() != pki.RoleFrontend:
		return fmt.Errorf("--tls-cert: a frontend needs a certificate of role frontend, not %s", c.TLS.Role())
	}
	return nil
}

// ReadSessionKey reads a SessionKey from the file at path: the standard
// base64 of at least 32 bytes, and a newline. Its error is one line, for
// --session-key-file.
func ReadSessionKey(path string) ([]byte, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--session-key-file: %w", err)
	}
	key, err := session.ParseKey(text)
	if err != nil {
		return nil, fmt.Errorf("--session-key-file %s: %w", path, err)
	}
	return key, nil
}

// Server is a running frontend.
type Server struct {
	cfg      Config
	log      *slog.Logger
	client   *gameclient.Client
	handlers *handlers.Handlers
	http     *http.Server
	addr     string
	serveErr chan error
	// stopBG ends the background reports of presence and the timeline's
	// watch of the cluster; bgDone is closed when they have.
	stopBG context.CancelFunc
	bgDone chan struct{}
	// stopOnce makes Shutdown and Close idempotent: the first one stops.
	stopOnce sync.Once
	stopErr  error
}

// Start starts serving.
func Start(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	log := cfg.Logger.With("frontend", cfg.ID)
	key := cfg.SessionKey
	if len(key) == 0 {
		key = session.NewKey()
		log.Warn("no session key given (--session-key-file): sessions made here will not work on other frontends, nor after a restart")
	}
	sessions, err := session.New(key, nil)
	if err != nil {
		return nil, fmt.Errorf("frontend: --session-key-file: %w", err)
	}
	gc := gameclient.Config{Backends: cfg.Backends, Logger: log, Dial: cfg.Dial}
	if cfg.TLS != nil {
		gc.TLS = cfg.TLS.ClientConfig(pki.RoleBackend)
	}
	client, err := gameclient.New(gc)
	if err != nil {
		return nil, fmt.Errorf("frontend: backends: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	lim := limits.New(cfg.Limits, reg, log)
	limCfg := lim.Config()
	tl := timeline.New()
	h := handlers.New(handlers.Config{
		ID: cfg.ID, Game: handlers.LivePanel(client, tl), AllowedOrigins: cfg.AllowedOrigins, Registry: reg, Logger: log,
		Limits: lim, SocketRate: limCfg.SocketMessages, Sessions: sessions, Timeline: tl, Faults: cfg.Faults,
	})

	s := &Server{cfg: cfg, log: log, client: client, handlers: h, serveErr: make(chan error, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"ok","id":%q}`+"\n", cfg.ID)
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// Health checks and metrics are not rate limited: orchestrators and
	// scrapers poll them from one address.
	mux.Handle("/", lim.Handler(h))

	cop := http.NewCrossOriginProtection()
	for _, o := range cfg.AllowedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			_ = client.Close()
			return nil, fmt.Errorf("--allowed-origins %q: %w", o, err)
		}
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("frontend: listen on %s: %w", cfg.HTTPAddr, err)
	}
	s.addr = ln.Addr().String()
	// No ReadTimeout or WriteTimeout: they would cut websockets, which
	// the hub gives deadlines of their own. limits.Deadlines gives every
	// other request its body and write deadlines instead.
	s.http = &http.Server{
		Handler:           limits.Deadlines(limCfg, cop.Handler(mux)),
		ReadHeaderTimeout: limCfg.ReadHeaderTimeout,
		IdleTimeout:       limCfg.IdleTimeout,
		MaxHeaderBytes:    limCfg.MaxHeaderBytes,
	}
	bg, stopBG := context.WithCancel(context.Background())
	s.stopBG = stopBG
	s.bgDone = make(chan struct{})
	go func() {
		defer close(s.bgDone)
		var wg sync.WaitGroup
		wg.Go(func() { h.RecordTimeline(bg) })
		h.ReportPresence(bg)
		wg.Wait()
	}()
	go func() {
		if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.serveErr <- err
		}
	}()
	log.Info("frontend started", "http", s.addr, "backends", cfg.Backends)
	return s, nil
}

// readyz answers 200 once a backend has told us who leads.
func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	leader := s.client.Cluster().GetLeaderId()
	if leader == "" {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, `{"ready":false,"reason":"no backend leader known yet"}`)
		return
	}
	fmt.Fprintf(w, `{"ready":true,"leader":%q}`+"\n", leader)
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.addr }

// URL is the server's base URL.
func (s *Server) URL() string { return "http://" + s.addr }

// ID is the frontend's id.
func (s *Server) ID() string { return s.cfg.ID }

// Wait blocks until ctx is done or serving fails.
func (s *Server) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-s.serveErr:
		return fmt.Errorf("frontend %s: %w", s.cfg.ID, err)
	}
}

// Shutdown closes the websockets, drains HTTP requests (bounded by ctx)
// and closes the backend connections.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() {
		s.stopBackground()
		s.handlers.Close()
		err := s.http.Shutdown(ctx)
		s.stopErr = errors.Join(err, s.client.Close())
	})
	return s.stopErr
}

// stopBackground ends the presence reports and waits for them.
func (s *Server) stopBackground() {
	s.stopBG()
	<-s.bgDone
}

// Close stops at once, as a crash would from the tabs' point of view.
func (s *Server) Close() error {
	s.stopOnce.Do(func() {
		s.stopBackground()
		s.handlers.Close()
		s.stopErr = errors.Join(s.http.Close(), s.client.Close())
	})
	return s.stopErr
}
