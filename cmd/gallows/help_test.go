package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net"
	"os"
	"strings"
	"testing"
)

// Every command's --help lists its flags with their environment variables
// and defaults a person can read, and exits without running anything.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		cmd      string
		contains []string
	}{
		{"backend", []string{"--bootstrap-expect  [GALLOWS_BOOTSTRAP_EXPECT]", `--log-level  [GALLOWS_LOG_LEVEL]`, `(default "info")`}},
		{"frontend", []string{"--backends  [GALLOWS_BACKENDS]", `(default "info")`}},
		{"bench", []string{"--clients  [GALLOWS_CLIENTS]", "--runs  [GALLOWS_RUNS]", "--cpuprofile  [GALLOWS_CPUPROFILE]", `(default "warn")`}},
		{"dev", []string{"--log-level  [GALLOWS_LOG_LEVEL]"}},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{tc.cmd, "--help"}, &stdout, &stderr)
			if !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("run %s --help = %v, want flag.ErrHelp", tc.cmd, err)
			}
			help := stderr.String()
			for _, want := range tc.contains {
				if !strings.Contains(help, want) {
					t.Errorf("%s --help lacks %q:\n%s", tc.cmd, want, help)
				}
			}
			if strings.Contains(help, "LevelVar") {
				t.Errorf("%s --help shows a Go type name:\n%s", tc.cmd, help)
			}
		})
	}
}

// Bad values are refused before anything starts.
func TestBenchRejectsBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--runs", "0"}, "--runs 0: want at least 1"},
		{[]string{"--clients", "0"}, "--clients 0: want 1 to 1024"},
		{[]string{"--duration", "0s"}, "--duration 0s: must be positive"},
		{[]string{"--clientz", "3"}, "flag provided but not defined: --clientz (see: gallows bench --help)"},
		{[]string{"--runs", "-3"}, "--runs -3: want at least 1"},
		{[]string{"--duration", "-1s"}, "duration -1s: must be positive"},
		{[]string{"--clients", "2000"}, "2000 clients: want 1 to 1024"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"bench"}, tc.args...), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("bench %v: err = %v, want one saying %q", tc.args, err, tc.want)
			}
			if stdout.Len() > 0 {
				t.Errorf("bench %v printed before refusing:\n%s", tc.args, stdout.String())
			}
		})
	}
}

// The backend and dev commands refuse bad values before starting anything.
func TestServersRejectBadFlags(t *testing.T) {
	dir := t.TempDir()
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	busy := held.Addr().String()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"backend", "--data-dir", dir}, "--id is required"},
		{[]string{"backend", "--id", "b1", "--data-dir", dir, "--raft-timeout-scale", "0"}, "--raft-timeout-scale 0: must be more than 0"},
		{[]string{"backend", "--id", "b1", "--data-dir", dir, "--raft-timeout-scale", "500"}, "--raft-timeout-scale 500: must be between"},
		{[]string{"backend", "--id", "b1", "--data-dir", dir, "--serf-addr", "backend1:7946"}, "--serf-addr"},
		{[]string{"backend", "--id", "b1", "--data-dir", dir, "--join", ":7946"}, "--join"},
		{[]string{"backend", "--id", "b1", "--data-dir", dir}, "or give --insecure"},
		{[]string{"backend", "--id", "b1", "--data-dir", dir, "--tls-ca", "ca.pem"}, "--tls-ca, --tls-cert and --tls-key go together"},
		{[]string{"backend", "--id", "b1", "--data-dir", dir, "--insecure", "--gossip-key-file", "/nonexistent"}, "--gossip-key-file"},
		{[]string{"frontend", "--backends", "127.0.0.1:9000"}, "or give --insecure"},
		{[]string{"dev", "--base-port", "80"}, "--base-port 80"},
		{[]string{"dev", "--http-addr", busy}, busy + " is in use"},
		{[]string{"dev", "--base-port", "65530"}, "--base-port 65530"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v: err = %v, want one saying %q", tc.args, err, tc.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				t.Errorf("%v created %d entries in the data dir before refusing", tc.args, len(entries))
			}
		})
	}
}

// A bad flag is reported once, in --flag spelling, without the usage; the
// version is one line.
func TestFlagErrorsAndVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"backend", "--nope"}, &stdout, &stderr)
	if err == nil || err.Error() != "flag provided but not defined: --nope (see: gallows backend --help)" {
		t.Errorf("backend --nope: err = %v", err)
	}
	if stderr.Len() > 0 || stdout.Len() > 0 {
		t.Errorf("backend --nope printed besides its error:\n%s%s", stdout.String(), stderr.String())
	}
	stdout.Reset()
	if err := run(context.Background(), []string{"--version"}, &stdout, &stderr); err != nil || !strings.HasPrefix(stdout.String(), "gallows ") || strings.Count(stdout.String(), "\n") != 1 {
		t.Errorf("--version = %q, %v", stdout.String(), err)
	}
}
