// Package limits keeps a Gallows frontend's rate limits and the timeouts
// of its HTTP server.
//
// Every request is counted against token buckets (golang.org/x/time/rate)
// of its client IP and, if it carries one, of its session (the
// gallows_session cookie or an "Authorization: Bearer" token, hashed; the
// handlers check that it is valid, this package only tells sessions
// apart). Reads (GET), writes (POST), room creations and websocket
// upgrades have budgets of their own, and websocket messages are limited
// per session over all its sockets (and, in the hub, per socket). A
// refused request is answered 429 with Retry-After; a refused websocket
// message is dropped by the hub with a rate_limited error.
//
// The buckets live in bounded tables that forget clients idle for a few
// minutes and, when full, the least recently seen, so that a flood of
// spoofed addresses or random tokens cannot grow memory without bound.
//
// The client IP is the connection's peer address (an IPv6 address counts
// with its /64, which one client usually holds whole), or, only when that
// peer is one of Config.TrustedProxies, the address the proxies report in
// X-Forwarded-For.
package limits

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// SessionCookie is the cookie whose value identifies a session.
const SessionCookie = "gallows_session"

// Class is the budget a request draws on.
type Class int

// The classes of requests.
const (
	// Read is a GET (or HEAD) that is not a websocket upgrade.
	Read Class = iota
	// Write is a POST (or any other method that changes something).
	Write
	// Create is a room creation: a Write that also draws on Config.Creates.
	Create
	// Upgrade is a websocket upgrade.
	Upgrade
)

// String names the class, as in the metrics.
func (c Class) String() string {
	switch c {
	case Read:
		return "read"
	case Write:
		return "write"
	case Create:
		return "create"
	case Upgrade:
		return "upgrade"
	}
	return "class" + strconv.Itoa(int(c))
}

// ClassOf tells which budget r draws on: a websocket upgrade, a room
// creation (POST /rooms or /api/rooms), another POST (a write), or a read.
func ClassOf(r *http.Request) Class {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		if isUpgrade(r) {
			return Upgrade
		}
		return Read
	case http.MethodPost:
		if p := strings.TrimSuffix(r.URL.Path, "/"); p == "/rooms" || p == "/api/rooms" {
			return Create
		}
	}
	return Write
}

// isUpgrade reports whether r asks for a websocket: a GET without a body
// and with "Upgrade: websocket" (a request with a body is never one, so
// that the header cannot exempt a slow body from its deadline).
func isUpgrade(r *http.Request) bool {
	return r.Method == http.MethodGet && r.ContentLength == 0 && len(r.TransferEncoding) == 0 &&
		strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// Limiters holds every bucket of one frontend. Its methods are safe for
// concurrent use.
type Limiters struct {
	cfg Config
	log *slog.Logger
	now func() time.Time

	readsByIP, readsBySession   *table
	writesByIP, writesBySession *table
	createsByIP, upgradesByIP   *table
	messagesBySession           *table

	refused *prometheus.CounterVec
}

// New returns the limiters of cfg (zero fields take the defaults). reg,
// if not nil, receives the gallows_frontend_rate_limited_total counter.
func New(cfg Config, reg prometheus.Registerer, log *slog.Logger) *Limiters {
	cfg = cfg.WithDefaults()
	if log == nil {
		log = slog.Default()
	}
	t := func(r Rate) *table { return newTable(r, cfg.IdleTTL, cfg.MaxKeys) }
	l := &Limiters{
		cfg: cfg, log: log, now: time.Now,
		readsByIP: t(cfg.Reads), readsBySession: t(cfg.Reads),
		writesByIP: t(cfg.Writes), writesBySession: t(cfg.Writes),
		createsByIP: t(cfg.Creates), upgradesByIP: t(cfg.Upgrades),
		messagesBySession: t(cfg.SessionMessages),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gallows_frontend_rate_limited_total",
			Help: "Requests and websocket messages refused for rate, by class (read, write, create, upgrade, message).",
		}, []string{"class"}),
	}
	if reg != nil {
		reg.MustRegister(l.refused)
	}
	return l
}

// Config returns the limits in force, defaults filled in.
func (l *Limiters) Config() Config { return l.cfg }

// ClientIP is the address r counts against: its peer's, or, if the peer
// is a trusted proxy, the rightmost address of X-Forwarded-For that is not
// one. An IPv6 address stands for its /64.
func (l *Limiters) ClientIP(r *http.Request) netip.Addr {
	ip := peerAddr(r.RemoteAddr)
	if l.trusted(ip) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // a malformed hop: trust nothing left of it
			}
			ip = hop.Unmap()
			if !l.trusted(ip) {
				break
			}
		}
	}
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return ip
}

// peerAddr parses a RemoteAddr; an unparsable one (not from a TCP
// connection) maps to the unspecified address, which then shares one
// budget.
func peerAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(remote); err == nil {
		return a.Unmap()
	}
	return netip.IPv4Unspecified()
}

func (l *Limiters) trusted(ip netip.Addr) bool {
	for _, p := range l.cfg.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// SessionKey is r's session as a key of the limits: a hash of its bearer
// token, else of its session cookie; "" if it has neither. The token is
// not checked here; a made-up one only gets a budget of its own, on top
// of its client IP's.
func SessionKey(r *http.Request) string {
	raw := ""
	if auth := r.Header.Get("Authorization"); len(auth) > len("Bearer ") && strings.EqualFold(auth[:len("Bearer ")], "Bearer ") {
		raw = "bearer:" + strings.TrimSpace(auth[len("Bearer "):])
	} else if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		raw = "cookie:" + c.Value
	}
	if raw == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(raw))
	return string(sum[:16])
}

// MessageKey is the key whose budget r's websocket messages draw on: its
// session, or without one its client IP.
func (l *Limiters) MessageKey(r *http.Request) string {
	if s := SessionKey(r); s != "" {
		return "s:" + s
	}
	return "ip:" + l.ClientIP(r).String()
}

// AllowMessage takes a token for one websocket message of key (see
// MessageKey); false means the message is over the session's rate.
func (l *Limiters) AllowMessage(key string) bool {
	now := l.now()
	if l.messagesBySession.limiter(key, now).AllowN(now, 1) {
		return true
	}
	l.refused.WithLabelValues("message").Inc()
	return false
}

// Allow takes a token from every bucket a request of class c from r draws
// on. If one has none, it takes none and returns false with how long until
// all of them would have one. The client IP's buckets come first: a
// session's are looked at (and so remembered) only for a request its IP
// may send, so that a flood of made-up tokens from one address costs no
// more memory than that address's budget allows.
func (l *Limiters) Allow(r *http.Request, c Class) (bool, time.Duration) {
	now := l.now()
	ip := l.ClientIP(r).String()
	var byIP, bySession []*table
	switch c {
	case Read:
		byIP, bySession = []*table{l.readsByIP}, []*table{l.readsBySession}
	case Write:
		byIP, bySession = []*table{l.writesByIP}, []*table{l.writesBySession}
	case Create:
		byIP, bySession = []*table{l.writesByIP, l.createsByIP}, []*table{l.writesBySession}
	case Upgrade:
		byIP = []*table{l.upgradesByIP}
	}
	var taken []*rate.Reservation
	refuse := func(wait time.Duration) (bool, time.Duration) {
		for _, res := range taken {
			res.CancelAt(now)
		}
		l.refused.WithLabelValues(c.String()).Inc()
		return false, wait
	}
	// reserve takes a token of key from each table; it reports how long
	// until they all have one (0: they had).
	reserve := func(tables []*table, key string) time.Duration {
		var wait time.Duration
		for _, t := range tables {
			res := t.limiter(key, now).ReserveN(now, 1)
			if !res.OK() { // a burst below 1: never
				wait = max(wait, time.Hour)
				continue
			}
			taken = append(taken, res)
			wait = max(wait, res.DelayFrom(now))
		}
		return wait
	}
	if wait := reserve(byIP, ip); wait > 0 {
		return refuse(wait)
	}
	if session := SessionKey(r); session != "" {
		if wait := reserve(bySession, session); wait > 0 {
			return refuse(wait)
		}
	}
	return true, 0
}

// RetryAfter is the Retry-After value for a wait: whole seconds, at least 1.
func RetryAfter(wait time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(wait.Seconds()))))
}

// Handler limits every request to next: a request over its budget (see
// ClassOf and Allow) is answered 429 Too Many Requests with Retry-After,
// as a JSON error {"error":{"code":"rate_limited",…}} under /api/ and as
// plain text elsewhere (pages, forms, websocket upgrades).
func (l *Limiters) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := ClassOf(r)
		if ok, wait := l.Allow(r, c); !ok {
			l.log.Debug("rate limited", "class", c, "client", l.ClientIP(r), "path", r.URL.Path, "retry_after", wait)
			refuse(w, r, wait)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// refuse answers a request over its rate.
func refuse(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	w.Header().Set("Retry-After", RetryAfter(wait))
	w.Header().Set("Cache-Control", "no-store")
	if strings.HasPrefix(r.URL.Path, "/api/") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		type body struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		_ = json.NewEncoder(w).Encode(struct {
			Error body `json:"error"`
		}{body{Code: "rate_limited", Message: fmt.Sprintf("Too many requests: try again in %s s.", RetryAfter(wait))}})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusTooManyRequests)
	fmt.Fprintf(w, "Too many requests: slow down and try again in %s s.\n", RetryAfter(wait))
}

// Deadlines sets the read and write deadlines of every request to next
// except websocket upgrades: its body must arrive within cfg.BodyTimeout
// and its answer be written within cfg.WriteTimeout. A request that misses
// a deadline fails its read or write, and its connection is closed.
func Deadlines(cfg Config, next http.Handler) http.Handler {
	cfg = cfg.WithDefaults()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isUpgrade(r) {
			rc := http.NewResponseController(w)
			now := time.Now()
			_ = rc.SetReadDeadline(now.Add(cfg.BodyTimeout))
			_ = rc.SetWriteDeadline(now.Add(cfg.WriteTimeout))
		}
		next.ServeHTTP(w, r)
	})
}
