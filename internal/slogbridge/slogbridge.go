// Package slogbridge routes the logs of hashicorp/raft (hclog) and
// hashicorp/serf/memberlist (the standard log package) into log/slog, so the
// whole process logs through one structured handler.
package slogbridge

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// Hclog returns an hclog.Logger for raft that writes each line to l as a
// structured slog record with the same level, message and fields.
func Hclog(l *slog.Logger, name string) hclog.Logger {
	return HclogLeveled(l, name, nil)
}

// Level decides the level a line of an hclog logger is written at, from
// the level it was logged at, its message and its fields (without the
// "@" ones). Callers use it to log lower what they expect, such as a
// peer's connection failing once the peer has said it is leaving.
type Level func(level slog.Level, msg string, fields map[string]any) slog.Level

// HclogLeveled is Hclog with each line's level decided by level (nil:
// the level it was logged at).
func HclogLeveled(l *slog.Logger, name string, level Level) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       name,
		Level:      hclog.Debug,
		JSONFormat: true,
		Output:     &hclogWriter{l: l, level: level},
	})
}

// hclogWriter decodes hclog's JSON lines into slog records.
type hclogWriter struct {
	l     *slog.Logger
	level Level
}

func (w *hclogWriter) Write(p []byte) (int, error) {
	for line := range bytes.SplitSeq(bytes.TrimSpace(p), []byte("\n")) {
		var fields map[string]any
		if err := json.Unmarshal(line, &fields); err != nil {
			w.l.Info(string(line))
			continue
		}
		level := hclogLevel(fields["@level"])
		msg, _ := fields["@message"].(string)
		if w.level != nil {
			plain := make(map[string]any, len(fields))
			for k, v := range fields {
				if !strings.HasPrefix(k, "@") {
					plain[k] = v
				}
			}
			level = w.level(level, msg, plain)
		}
		if !w.l.Enabled(context.Background(), level) {
			continue
		}
		attrs := make([]any, 0, 2*len(fields))
		if mod, ok := fields["@module"].(string); ok {
			attrs = append(attrs, "module", mod)
		}
		for k, v := range fields {
			if strings.HasPrefix(k, "@") {
				continue
			}
			attrs = append(attrs, k, v)
		}
		w.l.Log(context.Background(), level, msg, attrs...)
	}
	return len(p), nil
}

func hclogLevel(v any) slog.Level {
	switch v {
	case "trace", "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// StdLog returns a *log.Logger for serf and memberlist. Their lines carry a
// "[LEVEL] " prefix, which becomes the slog level.
func StdLog(l *slog.Logger, component string) *log.Logger {
	return log.New(&stdWriter{l: l.With("module", component)}, "", 0)
}

// StdWriter returns the io.Writer behind StdLog, for libraries that take a
// LogOutput writer instead of a logger.
func StdWriter(l *slog.Logger, component string) io.Writer {
	return &stdWriter{l: l.With("module", component)}
}

type stdWriter struct{ l *slog.Logger }

var stdLevels = []struct {
	prefix string
	level  slog.Level
}{
	{"[DEBUG] ", slog.LevelDebug},
	{"[TRACE] ", slog.LevelDebug},
	{"[INFO] ", slog.LevelInfo},
	{"[WARN] ", slog.LevelWarn},
	{"[ERR] ", slog.LevelError},
	{"[ERROR] ", slog.LevelError},
}

func (w *stdWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	level := slog.LevelInfo
	for _, s := range stdLevels {
		if rest, ok := strings.CutPrefix(msg, s.prefix); ok {
			msg, level = rest, s.level
			break
		}
	}
	w.l.Log(context.Background(), level, msg)
	return len(p), nil
}
