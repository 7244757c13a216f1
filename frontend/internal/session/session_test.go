package session_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gallows-game/gallows/frontend/internal/session"
)

// clock is a settable time for an Issuer.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newIssuer(t *testing.T, key []byte, c *clock) *session.Issuer {
	t.Helper()
	i, err := session.New(key, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func TestIssueVerifyRename(t *testing.T) {
	c := &clock{time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)}
	key := session.NewKey()
	i := newIssuer(t, key, c)
	s, token, err := i.Issue("  ana ")
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "ana" || len(s.ID) != 22 || !s.IssuedAt.Equal(c.t) {
		t.Fatalf("Issue = %+v", s)
	}
	got, err := i.Verify(token)
	if err != nil || got != s {
		t.Fatalf("Verify = %+v, %v; want %+v", got, err, s)
	}
	other, _, err := i.Issue("ana")
	if err != nil || other.ID == s.ID {
		t.Errorf("a second session under the same name has id %q, want a new one (%v)", other.ID, err)
	}
	c.t = c.t.Add(time.Hour)
	renamed, token2, err := i.Rename(s, "Ana B")
	if err != nil || renamed.ID != s.ID || renamed.Name != "Ana B" {
		t.Fatalf("Rename = %+v, %v", renamed, err)
	}
	if got, err := i.Verify(token2); err != nil || got != renamed {
		t.Errorf("Verify(renamed) = %+v, %v", got, err)
	}
	// Any issuer with the same key recognises the session: frontends
	// share the key.
	same, err := session.New(bytes.Clone(key), c.now)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := same.Verify(token2); err != nil || got != renamed {
		t.Errorf("another issuer with the key: %+v, %v", got, err)
	}
}

// IssueFor gives the same seed the same player id, under any name; other
// seeds and other keys give other ids.
func TestIssueFor(t *testing.T) {
	key := session.NewKey()
	i := newIssuer(t, key, &clock{time.Now()})
	a, token, err := i.IssueFor("create\x00req-1", "ana")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := i.Verify(token); err != nil || got.ID != a.ID {
		t.Fatalf("Verify = %+v, %v", got, err)
	}
	same, _, _ := i.IssueFor("create\x00req-1", "ana b")
	other, _, _ := i.IssueFor("create\x00req-2", "ana")
	otherKey, _, _ := newIssuer(t, session.NewKey(), &clock{time.Now()}).IssueFor("create\x00req-1", "ana")
	if same.ID != a.ID || other.ID == a.ID || otherKey.ID == a.ID || len(a.ID) != 22 {
		t.Errorf("ids: %q, same seed %q, other seed %q, other key %q", a.ID, same.ID, other.ID, otherKey.ID)
	}
}

// TestVerifyRefuses: a token not made by this key as it is, or too old,
// is refused.
func TestVerifyRefuses(t *testing.T) {
	start := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	key := session.NewKey()
	i := newIssuer(t, key, &clock{start})
	s, token, err := i.Issue("ana")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q: want 3 parts", token)
	}
	forge := func(payload string) string {
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + parts[2]
	}
	flip := func(s string, at int) string {
		b := []byte(s)
		if b[at] == 'A' {
			b[at] = 'B'
		} else {
			b[at] = 'A'
		}
		return string(b)
	}
	tests := []struct {
		name  string
		token string
		now   time.Time
		want  error
	}{
		{"empty", "", start, session.ErrInvalid},
		{"garbage", "hello", start, session.ErrInvalid},
		{"another version", "v2" + strings.TrimPrefix(token, "v1"), start, session.ErrInvalid},
		{"tampered payload", parts[0] + "." + flip(parts[1], 3) + "." + parts[2], start, session.ErrInvalid},
		{"tampered MAC", parts[0] + "." + parts[1] + "." + flip(parts[2], 5), start, session.ErrInvalid},
		{"no MAC", parts[0] + "." + parts[1], start, session.ErrInvalid},
		{"MAC not base64", parts[0] + "." + parts[1] + ".!!", start, session.ErrInvalid},
		{"forged name", forge(`{"id":"` + s.ID + `","name":"bo","iat":` + "1746100800" + `}`), start, session.ErrInvalid},
		{"made under another key", func() string {
			_, tok, _ := newIssuer(t, session.NewKey(), &clock{start}).Issue("ana")
			return tok
		}(), start, session.ErrInvalid},
		{"expired", token, start.Add(session.TTL + time.Second), session.ErrExpired},
		{"issued in the future", token, start.Add(-time.Hour), session.ErrInvalid},
		{"valid, just", token, start.Add(session.TTL), nil},
		{"valid, a clock a little behind", token, start.Add(-time.Minute), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newIssuer(t, key, &clock{tt.now})
			got, err := v.Verify(tt.token)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Verify = %+v, %v; want %v", got, err, tt.want)
			}
			if err == nil && got.ID != s.ID {
				t.Errorf("Verify = %+v, want %+v", got, s)
			}
		})
	}
}

func TestNames(t *testing.T) {
	i := newIssuer(t, session.NewKey(), &clock{time.Now()})
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"ana", "ana", true},
		{" Zoë 😀 ", "Zoë 😀", true},
		{strings.Repeat("é", session.MaxNameLen), strings.Repeat("é", session.MaxNameLen), true},
		{strings.Repeat("é", session.MaxNameLen+1), "", false},
		{"", "", false},
		{"   ", "", false},
		{"a\x00b", "", false},
		{"a\nb", "", false},
		{"bad\xff", "", false},
	}
	for _, tt := range tests {
		s, _, err := i.Issue(tt.in)
		if (err == nil) != tt.ok || s.Name != tt.want {
			t.Errorf("Issue(%q) = %q, %v; want %q, ok %v", tt.in, s.Name, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, session.ErrBadName) {
			t.Errorf("Issue(%q) = %v, want ErrBadName", tt.in, err)
		}
	}
}

func TestKeys(t *testing.T) {
	if _, err := session.New(make([]byte, session.KeySize-1), nil); err == nil {
		t.Error("New accepted a short key")
	}
	key := session.NewKey()
	if len(key) != session.KeySize || bytes.Equal(key, session.NewKey()) {
		t.Errorf("NewKey = %x", key)
	}
	tests := []struct {
		name string
		text string
		ok   bool
	}{
		{"with a newline", base64.StdEncoding.EncodeToString(key) + "\n", true},
		{"without", base64.StdEncoding.EncodeToString(key), true},
		{"too short", base64.StdEncoding.EncodeToString(key[:16]) + "\n", false},
		{"not base64", "not a key\n", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		got, err := session.ParseKey([]byte(tt.text))
		if (err == nil) != tt.ok || (tt.ok && !bytes.Equal(got, key)) {
			t.Errorf("%s: ParseKey = %x, %v; want ok %v", tt.name, got, err, tt.ok)
		}
	}
}

func TestFromRequest(t *testing.T) {
	i := newIssuer(t, session.NewKey(), &clock{time.Now()})
	s, token, err := i.Issue("ana")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		header string
		ok     bool
	}{
		{"bearer", "Bearer " + token, true},
		{"bearer, any case", "bearer " + token, true},
		{"no header", "", false},
		{"basic", "Basic " + token, false},
		{"no token", "Bearer ", false},
		{"tampered", "Bearer " + token + "x", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodPost, "/api/rooms", nil)
		if tt.header != "" {
			r.Header.Set("Authorization", tt.header)
		}
		got, err := i.FromHeader(r)
		if (err == nil) != tt.ok || (tt.ok && got != s) {
			t.Errorf("%s: FromHeader = %+v, %v; want ok %v", tt.name, got, err, tt.ok)
		}
	}

	w := httptest.NewRecorder()
	session.SetCookie(w, httptest.NewRequest(http.MethodPost, "/join", nil), token)
	c := w.Result().Cookies()
	if len(c) != 1 || c[0].Name != session.Cookie || !c[0].HttpOnly || c[0].SameSite != http.SameSiteLaxMode || c[0].Secure || c[0].Path != "/" {
		t.Fatalf("cookie = %+v", c)
	}
	tls := httptest.NewRequest(http.MethodPost, "https://example.com/join", nil)
	w = httptest.NewRecorder()
	session.SetCookie(w, tls, token)
	if c := w.Result().Cookies(); len(c) != 1 || !c[0].Secure {
		t.Errorf("cookie over TLS = %+v, want Secure", c)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(c[0])
	if got, err := i.FromCookie(r); err != nil || got != s {
		t.Errorf("FromCookie = %+v, %v", got, err)
	}
	if _, err := i.FromCookie(httptest.NewRequest(http.MethodGet, "/", nil)); !errors.Is(err, session.ErrInvalid) {
		t.Errorf("FromCookie without a cookie = %v, want ErrInvalid", err)
	}
}
