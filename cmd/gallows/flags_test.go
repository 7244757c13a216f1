package main

import (
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
)

// The command line wins over the environment, a list included; each
// flag the command line leaves out comes from its variable.
func TestFlagsFromEnvironment(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantJoin []string
		wantID   string
		wantErr  string
	}{
		{"environment only", map[string]string{"GALLOWS_JOIN": "a:1,b:2", "GALLOWS_ID": "b1"}, nil, []string{"a:1", "b:2"}, "b1", ""},
		{"command line replaces the list", map[string]string{"GALLOWS_JOIN": "a:1"}, []string{"--join", "c:3"}, []string{"c:3"}, "", ""},
		{"repeated on the command line", nil, []string{"--join", "a:1", "--join", "b:2,c:3"}, []string{"a:1", "b:2", "c:3"}, "", ""},
		{"command line wins, others from the environment", map[string]string{"GALLOWS_ID": "b1", "GALLOWS_JOIN": "a:1"}, []string{"--id", "b2"}, []string{"a:1"}, "b2", ""},
		{"bad value in the environment", map[string]string{"GALLOWS_COUNT": "many"}, nil, nil, "", `GALLOWS_COUNT="many"`},
		{"stray argument", nil, []string{"extra"}, nil, "", "unexpected arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			var join listFlag
			fs.Var(&join, "join", "")
			id := fs.String("id", "", "")
			fs.Int("count", 0, "")
			err := parse(fs, tc.args, io.Discard, "test")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(join, tc.wantJoin) {
				t.Errorf("join = %v, want %v", join, tc.wantJoin)
			}
			if *id != tc.wantID {
				t.Errorf("id = %q, want %q", *id, tc.wantID)
			}
		})
	}
}
