package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
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
		{"bench", []string{"--clients  [GALLOWS_CLIENTS]", "--cpuprofile  [GALLOWS_CPUPROFILE]", `(default "warn")`}},
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
