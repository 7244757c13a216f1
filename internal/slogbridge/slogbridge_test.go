package slogbridge

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestStdLogLevels(t *testing.T) {
	tests := []struct {
		line, wantLevel, wantMsg string
	}{
		{"[DEBUG] memberlist: probe", "DEBUG", "msg=\"memberlist: probe\""},
		{"[INFO] serf: EventMemberJoin: b2", "INFO", "msg=\"serf: EventMemberJoin: b2\""},
		{"[WARN] serf: Shutdown without a Leave", "WARN", "msg=\"serf: Shutdown without a Leave\""},
		{"[ERR] memberlist: failed", "ERROR", "msg=\"memberlist: failed\""},
		{"no prefix at all", "INFO", "msg=\"no prefix at all\""},
	}
	for _, tt := range tests {
		t.Run(tt.wantLevel, func(t *testing.T) {
			var buf bytes.Buffer
			l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			StdLog(l, "serf").Println(tt.line)
			out := buf.String()
			if !strings.Contains(out, "level="+tt.wantLevel) || !strings.Contains(out, tt.wantMsg) || !strings.Contains(out, "module=serf") {
				t.Errorf("got %q, want level %s and %s", out, tt.wantLevel, tt.wantMsg)
			}
		})
	}
}

func TestHclogBecomesStructured(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h := Hclog(l, "raft")
	h.Warn("heartbeat timeout reached", "last-leader-id", "b1")
	h.Debug("hidden at info")
	out := buf.String()
	for _, want := range []string{"level=WARN", `msg="heartbeat timeout reached"`, "last-leader-id=b1", "module=raft"} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q lacks %s", out, want)
		}
	}
	if strings.Contains(out, "hidden at info") {
		t.Errorf("a debug line passed an info logger: %q", out)
	}
}

// A Level lowers the lines it expects and leaves the others alone.
func TestHclogLeveled(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h := HclogLeveled(l, "raft", func(level slog.Level, msg string, fields map[string]any) slog.Level {
		if msg == "failed to heartbeat to" && fields["peer"] == "10.0.0.2:7000" {
			return slog.LevelDebug
		}
		return level
	})
	h.Error("failed to heartbeat to", "peer", "10.0.0.2:7000")
	h.Error("failed to heartbeat to", "peer", "10.0.0.3:7000")
	out := buf.String()
	if strings.Contains(out, "10.0.0.2") {
		t.Errorf("the expected line was logged at error: %q", out)
	}
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "10.0.0.3") {
		t.Errorf("the other line was not logged at error: %q", out)
	}
}
