package pki

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fixture is a CA with certificates of every kind the tests need, and a
// second CA the cluster does not trust.
type fixture struct {
	dir, otherDir string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), otherDir: t.TempDir()}
	for _, d := range []string{f.dir, f.otherDir} {
		if err := CreateCA(d); err != nil {
			t.Fatal(err)
		}
	}
	f.issue(t, f.dir, CertRequest{Role: RoleBackend, Name: "b1", Hosts: []string{"127.0.0.1"}})
	f.issue(t, f.dir, CertRequest{Role: RoleFrontend, Name: "f1"})
	f.issue(t, f.dir, CertRequest{Role: RoleBackend, Name: "expired", NotBefore: time.Now().Add(-2 * time.Hour), Validity: time.Hour})
	f.issue(t, f.otherDir, CertRequest{Role: RoleBackend, Name: "stranger"})
	f.noRole(t, "norole")
	return f
}

func (f *fixture) issue(t *testing.T, caDir string, req CertRequest) {
	t.Helper()
	if _, _, err := IssueCert(caDir, caDir, req); err != nil {
		t.Fatal(err)
	}
}

// noRole signs a certificate without an OrganizationalUnit with the
// fixture's CA, as another tool might.
func (f *fixture) noRole(t *testing.T, name string) {
	t.Helper()
	ca, err := loadCA(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := newSerial()
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name, Organization: []string{Organization}},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFile(filepath.Join(f.dir, name+"-key.pem"), keyPEM, 0o600, false); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(filepath.Join(f.dir, name+".pem"), encodeCert(der), 0o644, false); err != nil {
		t.Fatal(err)
	}
}

// material loads a certificate of the fixture's CA.
func (f *fixture) material(t *testing.T, name string) *Material {
	t.Helper()
	return f.materialOf(t, f.dir, name)
}

func (f *fixture) materialOf(t *testing.T, dir, name string) *Material {
	t.Helper()
	m, err := Load(filepath.Join(dir, CAFile), filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// raw is a config that presents name's certificate (from dir, "" for none)
// and checks nothing: a peer that Load and our configs would not accept.
func raw(t *testing.T, dir, name string) *tls.Config {
	t.Helper()
	c := &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true}
	if name != "" {
		cert, err := tls.LoadX509KeyPair(filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c
}

// handshake runs a TLS handshake over loopback TCP. The server writes one
// byte after its handshake and the client reads it, so a server's refusal
// also shows on the client, whose TLS 1.3 handshake completes first.
func handshake(t *testing.T, server, client *tls.Config) (serverState tls.ConnectionState, serverErr, clientErr error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		cs  tls.ConnectionState
		err error
	}
	done := make(chan result, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		sc := tls.Server(conn, server)
		if err := sc.HandshakeContext(ctx); err != nil {
			done <- result{err: err}
			return
		}
		_, err = sc.Write([]byte{1})
		done <- result{cs: sc.ConnectionState(), err: err}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	cc := tls.Client(conn, client)
	clientErr = cc.HandshakeContext(ctx)
	if clientErr == nil {
		_, clientErr = cc.Read(make([]byte, 1))
	}
	if clientErr != nil {
		conn.Close() // unblock a server still waiting on the client
	}
	r := <-done
	return r.cs, r.err, clientErr
}

func TestServerConfig(t *testing.T) {
	f := newFixture(t)
	backend := f.material(t, "b1")
	tests := []struct {
		name    string
		allowed []Role
		client  *tls.Config
		// reason is in the refusal's log line and error; "" for accepted.
		reason string
		cn     string
	}{
		{"backend client", []Role{RoleBackend}, f.material(t, "b1").ClientConfig(RoleBackend), "", ""},
		{"frontend client, backends and frontends allowed", []Role{RoleBackend, RoleFrontend}, f.material(t, "f1").ClientConfig(RoleBackend), "", ""},
		{"frontend client, only backends allowed", []Role{RoleBackend}, f.material(t, "f1").ClientConfig(RoleBackend), "role frontend not allowed here (want backend)", "f1"},
		{"expired certificate", []Role{RoleBackend}, raw(t, f.dir, "expired"), "certificate has expired", "expired"},
		{"another CA", []Role{RoleBackend}, raw(t, f.otherDir, "stranger"), "signed by an unknown authority", "stranger"},
		{"no certificate", []Role{RoleBackend}, raw(t, "", ""), "no certificate presented", ""},
		{"no role", []Role{RoleBackend, RoleFrontend}, raw(t, f.dir, "norole"), "carries no role", "norole"},
		{"no roles allowed", nil, f.material(t, "b1").ClientConfig(RoleBackend), "role backend not allowed here (this side was configured to allow no role)", "b1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, nil))
			cs, serverErr, clientErr := handshake(t, backend.ServerConfig(logger, tc.allowed...), tc.client)
			if tc.reason == "" {
				if serverErr != nil || clientErr != nil {
					t.Fatalf("refused: server %v, client %v; log:\n%s", serverErr, clientErr, logs.String())
				}
				role, err := PeerRole(cs)
				if err != nil || !slices.Contains(tc.allowed, role) {
					t.Errorf("PeerRole = %q, %v; want one of %v", role, err, tc.allowed)
				}
				if logs.Len() > 0 {
					t.Errorf("accepted peer logged:\n%s", logs.String())
				}
				return
			}
			if serverErr == nil || clientErr == nil {
				t.Fatalf("accepted: server err %v, client err %v", serverErr, clientErr)
			}
			var refusal *RefusedError
			if !errors.As(serverErr, &refusal) || !strings.Contains(refusal.Reason, tc.reason) {
				t.Errorf("server error %v, want a RefusedError saying %q", serverErr, tc.reason)
			}
			line := logs.String()
			t.Log(line)
			for _, want := range []string{"level=WARN", `msg="tls: refused peer"`, "remote=127.0.0.1:", "reason=", tc.reason} {
				if !strings.Contains(line, want) {
					t.Errorf("log lacks %q:\n%s", want, line)
				}
			}
			if tc.cn != "" && !strings.Contains(line, "cn="+tc.cn) {
				t.Errorf("log lacks cn=%s:\n%s", tc.cn, line)
			}
			if strings.Count(line, "\n") != 1 {
				t.Errorf("want exactly one log line:\n%s", line)
			}
		})
	}
}

// A server without a logger still refuses.
func TestServerConfigNilLogger(t *testing.T) {
	f := newFixture(t)
	_, serverErr, _ := handshake(t, f.material(t, "b1").ServerConfig(nil, RoleBackend), f.material(t, "f1").ClientConfig(RoleBackend))
	if serverErr == nil {
		t.Fatal("frontend accepted by a backend-only server")
	}
}

func TestClientConfig(t *testing.T) {
	f := newFixture(t)
	client := f.material(t, "f1")
	tests := []struct {
		name   string
		server *tls.Config
		want   string // in the client's error; "" for accepted
	}{
		{"backend server", f.material(t, "b1").ServerConfig(nil, RoleFrontend), ""},
		{"frontend server", f.material(t, "f1").ServerConfig(nil, RoleFrontend), "role frontend not allowed here (want backend)"},
		{"another CA", f.materialOf(t, f.otherDir, "stranger").ServerConfig(nil, RoleFrontend), "signed by an unknown authority"},
		{"expired", raw(t, f.dir, "expired"), "certificate has expired"},
		{"no role", raw(t, f.dir, "norole"), "carries no role"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Dialed as "localhost" though the backend's SANs name only
			// 127.0.0.1: host names are not checked.
			cfg := client.ClientConfig(RoleBackend)
			cfg.ServerName = "localhost"
			_, serverErr, clientErr := handshake(t, tc.server, cfg)
			if tc.want == "" {
				if serverErr != nil || clientErr != nil {
					t.Fatalf("refused: server %v, client %v", serverErr, clientErr)
				}
				return
			}
			if clientErr == nil || !strings.Contains(clientErr.Error(), tc.want) {
				t.Errorf("client error %v, want one saying %q", clientErr, tc.want)
			}
			if serverErr == nil {
				t.Error("server completed a handshake the client refused")
			}
		})
	}
}

func TestLoad(t *testing.T) {
	f := newFixture(t)
	ca := filepath.Join(f.dir, CAFile)
	pem := func(dir, name string) string { return filepath.Join(dir, name+".pem") }
	key := func(dir, name string) string { return filepath.Join(dir, name+"-key.pem") }
	tests := []struct {
		name                     string
		caFile, certFile, keyFil string
		want                     string // in the error; "" for success
	}{
		{"backend", ca, pem(f.dir, "b1"), key(f.dir, "b1"), ""},
		{"expired", ca, pem(f.dir, "expired"), key(f.dir, "expired"), "expired on"},
		{"another CA", ca, pem(f.otherDir, "stranger"), key(f.otherDir, "stranger"), "unknown authority"},
		{"key of another certificate", ca, pem(f.dir, "b1"), key(f.dir, "f1"), "b1.pem"},
		{"no role", ca, pem(f.dir, "norole"), key(f.dir, "norole"), "carries no role"},
		{"missing CA", filepath.Join(f.dir, "nope.pem"), pem(f.dir, "b1"), key(f.dir, "b1"), "nope.pem"},
		{"CA file without a certificate", key(f.dir, "b1"), pem(f.dir, "b1"), key(f.dir, "b1"), "no PEM certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Load(tc.caFile, tc.certFile, tc.keyFil)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if m.Role() != RoleBackend || m.Name() != "b1" {
					t.Errorf("Role, Name = %q, %q; want backend, b1", m.Role(), m.Name())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func TestCreateCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "ca")
	if err := CreateCA(dir); err != nil {
		t.Fatal(err)
	}
	assertMode(t, dir, 0o700)
	assertMode(t, filepath.Join(dir, CAKeyFile), 0o600)
	before, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := loadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := ca.cert
	if !c.IsCA || !c.MaxPathLenZero || c.MaxPathLen != 0 || c.Subject.CommonName != "Gallows CA" ||
		c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign || c.NotAfter.Before(time.Now().Add(9*365*24*time.Hour)) {
		t.Errorf("CA certificate: IsCA %v, MaxPathLenZero %v, CN %q, KeyUsage %v, NotAfter %v",
			c.IsCA, c.MaxPathLenZero, c.Subject.CommonName, c.KeyUsage, c.NotAfter)
	}

	err = CreateCA(dir)
	if err == nil || !strings.Contains(err.Error(), "already exists") || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("second CreateCA: err = %v, want a refusal to overwrite", err)
	}
	after, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("second CreateCA changed the key (err %v)", err)
	}
}

func TestIssueCert(t *testing.T) {
	dir := t.TempDir()
	if err := CreateCA(dir); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "certs")
	certPath, keyPath, err := IssueCert(dir, out, CertRequest{Role: RoleBackend, Name: "b1", Hosts: []string{"backend1", "10.0.0.5", "::1", "backend1"}})
	if err != nil {
		t.Fatal(err)
	}
	if certPath != filepath.Join(out, "b1.pem") || keyPath != filepath.Join(out, "b1-key.pem") {
		t.Errorf("paths %s, %s", certPath, keyPath)
	}
	assertMode(t, keyPath, 0o600)
	m, err := Load(filepath.Join(dir, CAFile), certPath, keyPath)
	if err != nil {
		t.Fatal(err)
	}
	leaf := m.leaf
	if got := leaf.Subject; got.CommonName != "b1" || !slices.Equal(got.Organization, []string{"Gallows"}) || !slices.Equal(got.OrganizationalUnit, []string{"backend"}) {
		t.Errorf("subject %v", got)
	}
	if !slices.Equal(leaf.DNSNames, []string{"backend1"}) || len(leaf.IPAddresses) != 2 ||
		!leaf.IPAddresses[0].Equal(net.ParseIP("10.0.0.5")) || !leaf.IPAddresses[1].Equal(net.IPv6loopback) {
		t.Errorf("SANs: DNS %v, IP %v", leaf.DNSNames, leaf.IPAddresses)
	}
	if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}) {
		t.Errorf("ExtKeyUsage %v", leaf.ExtKeyUsage)
	}
	if d := leaf.NotAfter.Sub(leaf.NotBefore); d != 365*24*time.Hour {
		t.Errorf("validity %v, want 365 days", d)
	}
	if _, _, err := IssueCert(dir, out, CertRequest{Role: RoleBackend, Name: "b1"}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("reissue over b1: err = %v, want a refusal to overwrite", err)
	}

	for _, tc := range []struct {
		name string
		req  CertRequest
		want string
	}{
		{"no role", CertRequest{Name: "x"}, `role "": want backend or frontend`},
		{"unknown role", CertRequest{Role: "admin", Name: "x"}, `role "admin"`},
		{"no name", CertRequest{Role: RoleBackend}, `name ""`},
		{"slash in name", CertRequest{Role: RoleBackend, Name: "../x"}, `name "../x"`},
		{"name of the CA", CertRequest{Role: RoleBackend, Name: "ca"}, "taken by the CA"},
		{"host with port", CertRequest{Role: RoleBackend, Name: "x", Hosts: []string{"b1:7000"}}, "without a port"},
		{"negative validity", CertRequest{Role: RoleBackend, Name: "x", Validity: -time.Hour}, "must be positive"},
		{"outlives the CA", CertRequest{Role: RoleBackend, Name: "x", Validity: 20 * 365 * 24 * time.Hour}, "outlive the CA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			_, _, err := IssueCert(dir, out, tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one saying %q", err, tc.want)
			}
			if entries, _ := os.ReadDir(out); len(entries) > 0 {
				t.Errorf("wrote %d files before refusing", len(entries))
			}
		})
	}
	if _, _, err := IssueCert(t.TempDir(), out, CertRequest{Role: RoleBackend, Name: "x"}); err == nil || !strings.Contains(err.Error(), "gallows tls ca") {
		t.Errorf("issue without a CA: err = %v, want one pointing at gallows tls ca", err)
	}
}

func TestCreateDev(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dev")
	files, err := CreateDev(dir, "backend1", "10.1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cert, key string
		role      Role
	}{{files.BackendCert, files.BackendKey, RoleBackend}, {files.FrontendCert, files.FrontendKey, RoleFrontend}} {
		m, err := Load(files.CA, c.cert, c.key)
		if err != nil {
			t.Fatal(err)
		}
		if m.Role() != c.role || m.Name() != string(c.role) {
			t.Errorf("%s: role %q, name %q", c.cert, m.Role(), m.Name())
		}
		if !slices.Equal(m.leaf.DNSNames, []string{"backend1", "localhost"}) || len(m.leaf.IPAddresses) != 3 {
			t.Errorf("%s: SANs DNS %v, IP %v", c.cert, m.leaf.DNSNames, m.leaf.IPAddresses)
		}
		assertMode(t, c.key, 0o600)
	}
	if _, err := ReadGossipKeyFile(files.GossipKey); err != nil {
		t.Error(err)
	}
	if key, err := ReadSessionKeyFile(files.SessionKey); err != nil || len(key) != 32 {
		t.Errorf("session key: %d bytes, %v", len(key), err)
	}
	for _, p := range []string{files.CAKey, files.GossipKey, files.SessionKey} {
		assertMode(t, p, 0o600)
	}
	for _, p := range []string{files.GossipKey, files.SessionKey} {
		if data, _ := os.ReadFile(p); !bytes.HasSuffix(data, []byte("\n")) {
			t.Errorf("%s lacks its final newline", p)
		}
	}

	snapshot := func() map[string][]byte {
		m := map[string][]byte{}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			m[e.Name()] = data
		}
		return m
	}
	first := snapshot()
	if len(first) != 8 {
		t.Errorf("dev dir holds %d files, want 8", len(first))
	}
	again, err := CreateDev(dir, "backend1", "10.1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	if again != files {
		t.Errorf("second CreateDev returned %+v, want %+v", again, files)
	}
	if second := snapshot(); !sameFiles(first, second) {
		t.Error("second CreateDev changed the files")
	}

	// A lost certificate is reissued by the same CA; the rest stays.
	if err := os.Remove(files.FrontendCert); err != nil {
		t.Fatal(err)
	}
	if _, err := CreateDev(dir); err != nil {
		t.Fatal(err)
	}
	third := snapshot()
	for name, data := range first {
		changed := !bytes.Equal(third[name], data)
		if want := name == "frontend.pem" || name == "frontend-key.pem"; changed != want {
			t.Errorf("%s changed = %v, want %v", name, changed, want)
		}
	}
	if _, err := Load(files.CA, files.FrontendCert, files.FrontendKey); err != nil {
		t.Error(err)
	}
}

func sameFiles(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(b[k], v) {
			return false
		}
	}
	return true
}

func assertMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s: mode %v, want %v", path, got, want)
	}
}

func TestRoles(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Role
		wantErr bool
	}{
		{"backend", RoleBackend, false},
		{"frontend", RoleFrontend, false},
		{"Backend", "", true},
		{"", "", true},
		{"admin", "", true},
	} {
		got, err := ParseRole(tc.in)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("ParseRole(%q) = %q, %v", tc.in, got, err)
		}
		if err != nil && !strings.Contains(err.Error(), "want backend or frontend") {
			t.Errorf("ParseRole(%q) error %q names no allowed role", tc.in, err)
		}
	}

	for _, tc := range []struct {
		name string
		ous  []string
		want Role
		err  string
	}{
		{"backend", []string{"backend"}, RoleBackend, ""},
		{"frontend", []string{"frontend"}, RoleFrontend, ""},
		{"no OU", nil, "", "carries no role"},
		{"two OUs", []string{"backend", "frontend"}, "", "want exactly one role"},
		{"unknown OU", []string{"ops"}, "", `role "ops"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert := &x509.Certificate{Subject: pkix.Name{CommonName: "n", OrganizationalUnit: tc.ous}}
			got, err := RoleOf(cert)
			if got != tc.want || (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("RoleOf(OU %v) = %q, %v; want %q, error with %q", tc.ous, got, err, tc.want, tc.err)
			}
		})
	}
	if _, err := PeerRole(tls.ConnectionState{}); err == nil {
		t.Error("PeerRole of a connection without certificates: no error")
	}
}

func TestGossipKey(t *testing.T) {
	key, err := NewGossipKey()
	if err != nil {
		t.Fatal(err)
	}
	if b, err := ParseGossipKey(key); err != nil || len(b) != 32 {
		t.Fatalf("ParseGossipKey(NewGossipKey()) = %d bytes, %v", len(b), err)
	}
	if other, _ := NewGossipKey(); other == key {
		t.Error("two new keys are equal")
	}
	b64 := func(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }
	for _, tc := range []struct {
		name string
		in   string
		n    int
		err  string
	}{
		{"32 bytes", b64(32), 32, ""},
		{"24 bytes", b64(24), 24, ""},
		{"16 bytes", b64(16), 16, ""},
		{"with space and newline", "  " + b64(32) + "\n", 32, ""},
		{"10 bytes", b64(10), 0, "10 bytes, want 16, 24 or 32"},
		{"33 bytes", b64(33), 0, "33 bytes"},
		{"empty", "", 0, "0 bytes"},
		{"not base64", "not*base64!", 0, "not standard base64"},
		{"URL alphabet", strings.ReplaceAll(strings.ReplaceAll(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb, 0xff}, 16)), "+", "-"), "/", "_"), 0, "not standard base64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseGossipKey(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil || len(got) != tc.n {
				t.Fatalf("= %d bytes, %v; want %d", len(got), err, tc.n)
			}
		})
	}

	path := filepath.Join(t.TempDir(), "gossip.key")
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadGossipKeyFile(path); err != nil || len(b) != 32 {
		t.Errorf("ReadGossipKeyFile = %d bytes, %v", len(b), err)
	}
	if _, err := ReadGossipKeyFile(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: err = %v", err)
	}
}

// A CA file may hold two CAs: during a CA rotation nodes trust both, so
// a node with a certificate of the new CA and one of the old talk both
// ways (docs/SECURITY.md, "Rotate the CA").
func TestCABundleForRotation(t *testing.T) {
	f := newFixture(t)
	bundle := filepath.Join(t.TempDir(), "ca-bundle.pem")
	var pems []byte
	for _, d := range []string{f.dir, f.otherDir} {
		b, err := os.ReadFile(filepath.Join(d, CAFile))
		if err != nil {
			t.Fatal(err)
		}
		pems = append(pems, b...)
	}
	if err := os.WriteFile(bundle, pems, 0o644); err != nil {
		t.Fatal(err)
	}
	load := func(dir, name string) *Material {
		m, err := Load(bundle, filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	oldNode, newNode := load(f.dir, "b1"), load(f.otherDir, "stranger")
	for _, pair := range [][2]*Material{{oldNode, newNode}, {newNode, oldNode}} {
		if _, serr, cerr := handshake(t, pair[0].ServerConfig(nil, RoleBackend), pair[1].ClientConfig(RoleBackend)); serr != nil || cerr != nil {
			t.Errorf("handshake across the two CAs: server %v, client %v", serr, cerr)
		}
	}
}
