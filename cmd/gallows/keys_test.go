package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gallows-game/gallows/internal/pki"
)

// tls ca and tls cert make a CA and certificates of both roles that load,
// and print the paths they wrote.
func TestTLSCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	out := runOK(t, "tls", "ca", "--out", dir)
	caFile, caKey := filepath.Join(dir, pki.CAFile), filepath.Join(dir, pki.CAKeyFile)
	if want := caFile + "\n" + caKey + "\n"; out != want {
		t.Errorf("tls ca printed %q, want %q", out, want)
	}

	certDir := filepath.Join(t.TempDir(), "certs")
	for _, tc := range []struct {
		role pki.Role
		name string
		args []string
		dir  string
	}{
		{pki.RoleBackend, "b1", []string{"--host", "127.0.0.1,backend1", "--out", certDir}, certDir},
		{pki.RoleFrontend, "f1", []string{"--days", "30"}, dir}, // --out defaults to --ca
	} {
		t.Run(string(tc.role), func(t *testing.T) {
			args := append([]string{"tls", "cert", "--ca", dir, "--role", string(tc.role), "--name", tc.name}, tc.args...)
			out := runOK(t, args...)
			certPath, keyPath := filepath.Join(tc.dir, tc.name+".pem"), filepath.Join(tc.dir, tc.name+"-key.pem")
			if want := certPath + "\n" + keyPath + "\n"; out != want {
				t.Errorf("tls cert printed %q, want %q", out, want)
			}
			m, err := pki.Load(caFile, certPath, keyPath)
			if err != nil {
				t.Fatal(err)
			}
			if m.Role() != tc.role || m.Name() != tc.name {
				t.Errorf("certificate role %q, name %q; want %q, %q", m.Role(), m.Name(), tc.role, tc.name)
			}
		})
	}

	// A second CA into the same directory is refused and changes nothing.
	key, err := os.ReadFile(caKey)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err = run(context.Background(), []string{"tls", "ca", "--out", dir}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second tls ca: err = %v, want a refusal to overwrite", err)
	}
	if again, _ := os.ReadFile(caKey); !bytes.Equal(again, key) {
		t.Error("second tls ca replaced the CA key")
	}
}

// Bad or missing flags are refused in one line, before anything is written.
func TestTLSCommandsRejectBadFlags(t *testing.T) {
	caDir := t.TempDir()
	if err := pki.CreateCA(caDir); err != nil {
		t.Fatal(err)
	}
	cert := func(extra ...string) []string {
		return append([]string{"tls", "cert", "--ca", caDir}, extra...)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tls"}, "missing subcommand"},
		{[]string{"tls", "key"}, `unknown subcommand "key"`},
		{[]string{"tls", "ca"}, "--out is required"},
		{[]string{"tls", "cert", "--role", "backend", "--name", "b1"}, "--ca is required"},
		{cert("--name", "b1"), "--role is required: backend or frontend"},
		{cert("--role", "admin", "--name", "b1"), `role "admin": want backend or frontend`},
		{cert("--role", "backend"), "--name is required"},
		{cert("--role", "backend", "--name", "b/1"), `name "b/1"`},
		{cert("--role", "backend", "--name", "b1", "--days", "0"), "--days 0: want 1 to 3650"},
		{cert("--role", "backend", "--name", "b1", "--host", "b1:7000"), "without a port"},
		{[]string{"tls", "cert", "--ca", t.TempDir(), "--role", "backend", "--name", "b1"}, "gallows tls ca"},
		{[]string{"gossip-key", "extra"}, "unexpected arguments"},
	} {
		t.Run(strings.ReplaceAll(strings.Join(tc.args, " "), caDir, "CA"), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			if stdout.Len() > 0 {
				t.Errorf("printed before refusing: %q", stdout.String())
			}
			entries, _ := os.ReadDir(caDir)
			if len(entries) != 2 {
				t.Errorf("CA dir holds %d entries, want only ca.pem and ca-key.pem", len(entries))
			}
		})
	}
}

// gossip-key prints one key, base64, that parses as a 32-byte key.
func TestGossipKeyCommand(t *testing.T) {
	out := runOK(t, "gossip-key")
	if !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("gossip-key printed %q, want one line", out)
	}
	key, err := pki.ParseGossipKey(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != 32 {
		t.Errorf("key of %d bytes, want 32", len(key))
	}
	if other := runOK(t, "gossip-key"); other == out {
		t.Error("two runs printed the same key")
	}
}

// The new commands answer --help like the others, and the usage names them.
func TestKeysHelp(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		contains []string
	}{
		{[]string{"tls", "--help"}, []string{"gallows tls ca --out DIR", "gallows tls cert --ca DIR"}},
		{[]string{"tls", "ca", "--help"}, []string{"--out  [GALLOWS_OUT]"}},
		{[]string{"tls", "cert", "--help"}, []string{"--role  [GALLOWS_ROLE]", "--host  [GALLOWS_HOST]", "--days  [GALLOWS_DAYS]", `(default "365")`}},
		{[]string{"gossip-key", "--help"}, []string{"gallows gossip-key: print a new gossip encryption key"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, &stdout, &stderr)
			if !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("err = %v, want flag.ErrHelp", err)
			}
			for _, want := range tc.contains {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("help lacks %q:\n%s", want, stderr.String())
				}
			}
		})
	}
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"help"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"gallows tls ", "create a CA and node certificates (tls ca, tls cert)", "gallows gossip-key ", "print a new gossip encryption key"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, stdout.String())
		}
	}
}

// runOK runs the command and returns what it printed.
func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

// tls dev creates a whole system's files once, and a second run keeps them.
func TestTLSDevIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	var first, second bytes.Buffer
	if err := run(context.Background(), []string{"tls", "dev", "--out", dir}, &first, io.Discard); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(dir, "backend.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"tls", "dev", "--out", dir}, &second, io.Discard); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(filepath.Join(dir, "backend.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if first.String() != second.String() || !bytes.Equal(before, after) {
		t.Errorf("second tls dev changed the files:\n%s\n%s", first.String(), second.String())
	}
	for _, role := range []pki.Role{pki.RoleBackend, pki.RoleFrontend} {
		m, err := pki.Load(filepath.Join(dir, pki.CAFile), filepath.Join(dir, string(role)+".pem"), filepath.Join(dir, string(role)+"-key.pem"))
		if err != nil || m.Role() != role {
			t.Errorf("%s certificate: %v", role, err)
		}
	}
}
