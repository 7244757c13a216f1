package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gallows-game/gallows/frontend"
)

// --session-key-file (GALLOWS_SESSION_KEY_FILE) names the file of the key
// that signs sessions: base64 of 32 bytes and a newline. A file that
// cannot be read or holds no such key is refused before anything starts,
// in one line.
func TestFrontendSessionKeyFile(t *testing.T) {
	dir := t.TempDir()
	key := bytes.Repeat([]byte{7}, 32)
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", base64.StdEncoding.EncodeToString(key)+"\n")
	tests := []struct {
		name string
		path string
		want string // in the error; "" for none
	}{
		{"good", good, ""},
		{"missing", filepath.Join(dir, "nope"), "--session-key-file: open"},
		{"not base64", write("text", "not a key\n"), "not base64"},
		{"too short", write("short", base64.StdEncoding.EncodeToString(key[:16])+"\n"), "16 bytes, want at least 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := frontend.ReadSessionKey(tt.path)
			if tt.want == "" {
				if err != nil || !bytes.Equal(got, key) {
					t.Fatalf("ReadSessionKey = %x, %v; want the key", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("ReadSessionKey = %v, want one line saying %q", err, tt.want)
			}
			// The command refuses it before starting anything.
			var stdout, stderr bytes.Buffer
			err = run(context.Background(), []string{"frontend", "--backends", "127.0.0.1:1", "--session-key-file", tt.path}, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("gallows frontend: %v, want an error saying %q", err, tt.want)
			}
		})
	}

	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"frontend", "--help"}, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("frontend --help = %v", err)
	}
	if !strings.Contains(stderr.String(), "--session-key-file  [GALLOWS_SESSION_KEY_FILE]") {
		t.Errorf("frontend --help lacks --session-key-file:\n%s", stderr.String())
	}
}
