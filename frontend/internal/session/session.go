// Package session issues and checks the sessions of Gallows players.
//
// A player is a session, not a string: a random player id, given by the
// frontend, with the name the player chose. The session travels as a
// token, its payload (id, name, issue time) and an HMAC-SHA256 of the
// payload under a key all frontends share, so any frontend recognises a
// session another issued and nobody can make a token for an id or a name
// without the key. Pages keep the token in an HttpOnly cookie (Cookie);
// the JSON API and bots send it as "Authorization: Bearer <token>".
//
// Renaming keeps the id: the same player under a new name. Tokens expire
// TTL after they were issued. The package uses the standard library only.
package session

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

const (
	// KeySize is the size of a session key, in bytes: the key of
	// HMAC-SHA256 is as long as its output.
	KeySize = 32
	// TTL is how long a token is valid after it was issued.
	TTL = 30 * 24 * time.Hour
	// MaxNameLen is the longest name, in runes after trimming, as the
	// backends allow it.
	MaxNameLen = 24
	// Cookie is the name of the cookie that carries a page's session.
	Cookie = "gallows_session"
	// clockSkew is how far in the future an issue time may be: frontends'
	// clocks differ a little.
	clockSkew = 5 * time.Minute
	// version starts every token, so that its format can change.
	version = "v1"
	// idBytes is how many random bytes make a player id.
	idBytes = 16
)

// Errors of Verify and Issue. Verify's errors wrap ErrInvalid or
// ErrExpired; callers answer both the same way (401), but may log them
// apart.
var (
	// ErrInvalid reports a token that is malformed, or whose MAC does not
	// match its payload: forged, tampered with, or made under another key.
	ErrInvalid = errors.New("invalid session token")
	// ErrExpired reports a token issued more than TTL ago.
	ErrExpired = errors.New("session token expired")
	// ErrBadName reports a name NormalizeName refuses.
	ErrBadName = errors.New("invalid name")
)

// Session is one player: who it is (ID) and what it is called (Name).
type Session struct {
	// ID is the player id: 16 random bytes, base64url without padding.
	ID string
	// Name is the player's name, as NormalizeName returns it.
	Name string
	// IssuedAt is when the token was issued, to the second.
	IssuedAt time.Time
}

// payload is what a token says, as JSON.
type payload struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	IAT  int64  `json:"iat"`
}

// Issuer issues and verifies tokens under one key. It is safe for
// concurrent use.
type Issuer struct {
	key []byte
	now func() time.Time
}

// New returns an Issuer that signs with key, at least KeySize bytes
// (copied). now, if not nil, is its clock (tests); nil is time.Now.
func New(key []byte, now func() time.Time) (*Issuer, error) {
	if len(key) < KeySize {
		return nil, fmt.Errorf("session: a key of %d bytes: want at least %d", len(key), KeySize)
	}
	if now == nil {
		now = time.Now
	}
	return &Issuer{key: bytes.Clone(key), now: now}, nil
}

// NewKey returns a new random key of KeySize bytes.
func NewKey() []byte {
	k := make([]byte, KeySize)
	_, _ = rand.Read(k) // never fails (crypto/rand)
	return k
}

// ParseKey reads a key as a key file holds it: the standard base64 of
// KeySize bytes or more, surrounding white space (a final newline)
// ignored.
func ParseKey(text []byte) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(text)))
	if err != nil {
		return nil, fmt.Errorf("session key: not base64: %w", err)
	}
	if len(key) < KeySize {
		return nil, fmt.Errorf("session key: %d bytes, want at least %d", len(key), KeySize)
	}
	return key, nil
}

// NewID returns a new random player id.
func NewID() string {
	var b [idBytes]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NormalizeName trims surrounding white space from a name and checks it
// as the backends do: 1 to MaxNameLen runes of valid UTF-8 without control
// characters. Failures wrap ErrBadName.
func NormalizeName(name string) (string, error) {
	n := strings.TrimSpace(name)
	switch {
	case n == "":
		return "", fmt.Errorf("a name is empty: %w", ErrBadName)
	case !utf8.ValidString(n):
		return "", fmt.Errorf("a name is not valid UTF-8: %w", ErrBadName)
	case utf8.RuneCountInString(n) > MaxNameLen:
		return "", fmt.Errorf("a name is longer than %d characters: %w", MaxNameLen, ErrBadName)
	case strings.ContainsFunc(n, unicode.IsControl):
		return "", fmt.Errorf("a name has control characters: %w", ErrBadName)
	}
	return n, nil
}

// Issue starts a new session under name: a new player id.
func (i *Issuer) Issue(name string) (Session, string, error) {
	return i.issue(NewID(), name)
}

// IssueFor starts a session under name whose player id is derived from
// seed and the key (an HMAC of the seed): the same seed always gives the
// same id. It is for a request that may arrive twice before the browser
// has the first one's cookie, such as a form sent twice with a double
// click, seeded with the form's request id (random, minted by the server
// for one page): both get the same player. The seed must be as hard to
// guess as a random id, since whoever knows it gets the player.
func (i *Issuer) IssueFor(seed, name string) (Session, string, error) {
	m := hmac.New(sha256.New, i.key)
	m.Write([]byte("gallows player id\x00" + seed))
	return i.issue(base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:idBytes]), name)
}

// Rename issues a token for s's player under a new name: the same id.
func (i *Issuer) Rename(s Session, name string) (Session, string, error) {
	return i.issue(s.ID, name)
}

// issue signs a token for player id under name, issued now.
func (i *Issuer) issue(id, name string) (Session, string, error) {
	n, err := NormalizeName(name)
	if err != nil {
		return Session{}, "", err
	}
	s := Session{ID: id, Name: n, IssuedAt: i.now().UTC().Truncate(time.Second)}
	body, err := json.Marshal(payload{ID: s.ID, Name: s.Name, IAT: s.IssuedAt.Unix()})
	if err != nil {
		return Session{}, "", fmt.Errorf("session: encode: %w", err)
	}
	signed := version + "." + base64.RawURLEncoding.EncodeToString(body)
	return s, signed + "." + base64.RawURLEncoding.EncodeToString(i.mac(signed)), nil
}

// mac is the MAC of a token's signed part.
func (i *Issuer) mac(signed string) []byte {
	m := hmac.New(sha256.New, i.key)
	m.Write([]byte(signed))
	return m.Sum(nil)
}

// Verify checks token and returns its session: the MAC must match (it
// is compared in constant time), the payload must be a session this
// package issues, and the token at most TTL old. Errors wrap ErrInvalid
// or ErrExpired.
func (i *Issuer) Verify(token string) (Session, error) {
	cut := strings.LastIndexByte(token, '.')
	if cut < 0 || !strings.HasPrefix(token, version+".") {
		return Session{}, fmt.Errorf("session: not a token: %w", ErrInvalid)
	}
	signed, sig := token[:cut], token[cut+1:]
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, i.mac(signed)) {
		return Session{}, fmt.Errorf("session: the MAC does not match: %w", ErrInvalid)
	}
	body, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(signed, version+"."))
	if err != nil {
		return Session{}, fmt.Errorf("session: payload: %w", ErrInvalid)
	}
	var p payload
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Session{}, fmt.Errorf("session: payload: %w", ErrInvalid)
	}
	if id, err := base64.RawURLEncoding.DecodeString(p.ID); err != nil || len(id) != idBytes {
		return Session{}, fmt.Errorf("session: player id: %w", ErrInvalid)
	}
	if n, err := NormalizeName(p.Name); err != nil || n != p.Name {
		return Session{}, fmt.Errorf("session: name: %w", ErrInvalid)
	}
	issued, now := time.Unix(p.IAT, 0).UTC(), i.now()
	switch {
	case issued.After(now.Add(clockSkew)):
		return Session{}, fmt.Errorf("session: issued in the future: %w", ErrInvalid)
	case now.Sub(issued) > TTL:
		return Session{}, fmt.Errorf("session: issued %s: %w", issued.Format(time.RFC3339), ErrExpired)
	}
	return Session{ID: p.ID, Name: p.Name, IssuedAt: issued}, nil
}

// FromCookie returns the session of r's Cookie.
func (i *Issuer) FromCookie(r *http.Request) (Session, error) {
	c, err := r.Cookie(Cookie)
	if err != nil {
		return Session{}, fmt.Errorf("session: no %s cookie: %w", Cookie, ErrInvalid)
	}
	return i.Verify(c.Value)
}

// FromHeader returns the session of r's "Authorization: Bearer" token.
func (i *Issuer) FromHeader(r *http.Request) (Session, error) {
	auth := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return Session{}, fmt.Errorf("session: no bearer token: %w", ErrInvalid)
	}
	return i.Verify(strings.TrimSpace(token))
}

// SetCookie stores token in w's Cookie for every path: HttpOnly (no
// script reads it), SameSite=Lax (no other site's form posts it), Secure
// when r came over TLS, kept as long as the token is valid.
func SetCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{
		Name: Cookie, Value: token, Path: "/", MaxAge: int(TTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil,
	})
}
