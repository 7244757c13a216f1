package limits

import (
	"math"
	"net/netip"
	"time"

	"golang.org/x/time/rate"
)

// Rate is a token bucket: it holds up to Burst tokens and gains PerSecond
// tokens a second; each request (or message) takes one, and one that finds
// none is refused.
type Rate struct {
	// PerSecond is the sustained rate.
	PerSecond float64
	// Burst is how many may come at once after a quiet spell.
	Burst int
}

// limit is r's rate for golang.org/x/time/rate.
func (r Rate) limit() rate.Limit {
	if math.IsInf(r.PerSecond, 1) || r.PerSecond >= float64(rate.Inf) {
		return rate.Inf
	}
	return rate.Limit(r.PerSecond)
}

// refill is how long an empty bucket takes to fill up again.
func (r Rate) refill() time.Duration {
	if r.PerSecond <= 0 {
		return 0
	}
	return time.Duration(float64(r.Burst) / r.PerSecond * float64(time.Second))
}

// orDefault is r, or def if r is the zero Rate (or not a valid one).
func (r Rate) orDefault(def Rate) Rate {
	if r.PerSecond <= 0 || r.Burst <= 0 || math.IsNaN(r.PerSecond) {
		return def
	}
	return r
}

// scaled is r with its rate and burst multiplied by f (a burst stays at
// least 1).
func (r Rate) scaled(f float64) Rate {
	b := float64(r.Burst) * f
	if b > math.MaxInt32 {
		b = math.MaxInt32
	}
	return Rate{PerSecond: r.PerSecond * f, Burst: max(1, int(b))}
}

// Defaults of Config's fields, used where a field is zero.
var (
	// DefaultReads is the default Config.Reads: 20 a second, bursts of 60.
	DefaultReads = Rate{PerSecond: 20, Burst: 60}
	// DefaultWrites is the default Config.Writes: 10 a second, bursts of 20.
	DefaultWrites = Rate{PerSecond: 10, Burst: 20}
	// DefaultCreates is the default Config.Creates: 1 a second, bursts of 5.
	DefaultCreates = Rate{PerSecond: 1, Burst: 5}
	// DefaultUpgrades is the default Config.Upgrades: 2 a second, bursts of 20.
	DefaultUpgrades = Rate{PerSecond: 2, Burst: 20}
	// DefaultSessionMessages is the default Config.SessionMessages: 10 a
	// second, bursts of 20.
	DefaultSessionMessages = Rate{PerSecond: 10, Burst: 20}
	// DefaultSocketMessages is the default Config.SocketMessages: 10 a
	// second, bursts of 20.
	DefaultSocketMessages = Rate{PerSecond: 10, Burst: 20}
)

// Defaults of Config's other fields.
const (
	// DefaultIdleTTL is the default Config.IdleTTL.
	DefaultIdleTTL = 5 * time.Minute
	// DefaultMaxKeys is the default Config.MaxKeys.
	DefaultMaxKeys = 100_000
	// DefaultReadHeaderTimeout is the default Config.ReadHeaderTimeout.
	DefaultReadHeaderTimeout = 5 * time.Second
	// DefaultBodyTimeout is the default Config.BodyTimeout.
	DefaultBodyTimeout = 10 * time.Second
	// DefaultWriteTimeout is the default Config.WriteTimeout.
	DefaultWriteTimeout = 30 * time.Second
	// DefaultIdleTimeout is the default Config.IdleTimeout.
	DefaultIdleTimeout = 60 * time.Second
	// DefaultMaxHeaderBytes is the default Config.MaxHeaderBytes.
	DefaultMaxHeaderBytes = 16 << 10
)

// Config sets the frontend's limits. Its zero value, and every zero field,
// means the defaults above.
type Config struct {
	// Reads limits GET requests (pages, the JSON API, static files), per
	// client IP and, separately, per session.
	Reads Rate
	// Writes limits POST requests (forms and the JSON API: guesses, next
	// rounds, joins, room creations), per client IP and per session.
	Writes Rate
	// Creates limits room creations per client IP, on top of Writes.
	Creates Rate
	// Upgrades limits websocket upgrades per client IP.
	Upgrades Rate
	// SessionMessages limits the messages a session sends over all its
	// websockets together (a socket without a session counts against its
	// client IP instead).
	SessionMessages Rate
	// SocketMessages limits the messages of each websocket.
	SocketMessages Rate

	// IdleTTL is how long a client IP or session is remembered after its
	// last request; it must be longer than any bucket takes to refill
	// (shorter values are raised to that).
	IdleTTL time.Duration
	// MaxKeys bounds how many client IPs (or sessions) each limit
	// remembers; past it the least recently seen is forgotten.
	MaxKeys int
	// TrustedProxies are the addresses of reverse proxies in front of the
	// frontend. Only a request from one of them has its client IP taken
	// from X-Forwarded-For (the rightmost address that is not a trusted
	// proxy); empty, the default, trusts no header.
	TrustedProxies []netip.Prefix

	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout time.Duration
	// BodyTimeout bounds reading a request's body, from when its headers
	// are read; a slower body is dropped with its connection. Websocket
	// upgrades are exempt (the hub has its own deadlines).
	BodyTimeout time.Duration
	// WriteTimeout bounds writing an answer (not websockets), from when
	// the request's headers are read.
	WriteTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its
	// next request.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers.
	MaxHeaderBytes int
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	c.Reads = c.Reads.orDefault(DefaultReads)
	c.Writes = c.Writes.orDefault(DefaultWrites)
	c.Creates = c.Creates.orDefault(DefaultCreates)
	c.Upgrades = c.Upgrades.orDefault(DefaultUpgrades)
	c.SessionMessages = c.SessionMessages.orDefault(DefaultSessionMessages)
	c.SocketMessages = c.SocketMessages.orDefault(DefaultSocketMessages)
	if c.IdleTTL <= 0 {
		c.IdleTTL = DefaultIdleTTL
	}
	if c.MaxKeys <= 0 {
		c.MaxKeys = DefaultMaxKeys
	}
	for _, r := range []Rate{c.Reads, c.Writes, c.Creates, c.Upgrades, c.SessionMessages} {
		c.IdleTTL = max(c.IdleTTL, r.refill())
	}
	setDefault(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDefault(&c.BodyTimeout, DefaultBodyTimeout)
	setDefault(&c.WriteTimeout, DefaultWriteTimeout)
	setDefault(&c.IdleTimeout, DefaultIdleTimeout)
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return c
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Scaled returns c with its defaults filled in and every rate and burst
// multiplied by f (e.g. 100 for a load test driven from one address).
// The timeouts and sizes stay as they are.
func (c Config) Scaled(f float64) Config {
	c = c.WithDefaults()
	for _, r := range []*Rate{&c.Reads, &c.Writes, &c.Creates, &c.Upgrades, &c.SessionMessages, &c.SocketMessages} {
		*r = r.scaled(f)
	}
	return c.WithDefaults() // IdleTTL follows the new refill times
}
