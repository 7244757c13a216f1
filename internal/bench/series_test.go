package bench

import (
	"math"
	"strings"
	"testing"
	"time"
)

// report makes a report whose ratio is ratio: raw Raft at 1000 ops/s.
func report(ratio float64) Report {
	return Report{
		Raft:    Result{Name: "raft", Ops: 1000, Elapsed: time.Second, TurnOpsPerSec: []float64{900, 1100}},
		Gallows: Result{Name: "gallows", Ops: int(math.Round(ratio * 1000)), Elapsed: time.Second, P50: 2 * time.Millisecond, P99: 7 * time.Millisecond},
	}
}

func TestSeries(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ratios   []float64
		median   float64
		atTarget int
		summary  string
	}{
		{"no runs", nil, 0, 0, ""},
		{"one run", []float64{0.95}, 0.95, 0, "ratio over 1 run: median 0.95, 0.95 to 0.95; 0 of 1 at the target of 1.00 or more"},
		{"odd", []float64{1.3, 0.9, 1.1}, 1.1, 2, "ratio over 3 runs: median 1.10, 0.90 to 1.30; 2 of 3 at the target of 1.00 or more"},
		{"even, the target itself counts", []float64{1.2, 1.0, 0.8, 1.4}, 1.1, 3, "ratio over 4 runs: median 1.10, 0.80 to 1.40; 3 of 4 at the target of 1.00 or more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s Series
			for _, r := range tc.ratios {
				s = append(s, report(r))
			}
			if got := s.Median(); got < tc.median-1e-9 || got > tc.median+1e-9 {
				t.Errorf("Median() = %v, want %v", got, tc.median)
			}
			if got := s.AtTarget(); got != tc.atTarget {
				t.Errorf("AtTarget() = %d, want %d", got, tc.atTarget)
			}
			var b strings.Builder
			if err := s.Write(&b); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if tc.summary == "" && out != "" {
				t.Errorf("Write of no runs printed:\n%s", out)
			}
			if !strings.Contains(out, tc.summary) {
				t.Errorf("Write lacks %q:\n%s", tc.summary, out)
			}
			if rows := strings.Count(out, "900–1100"); rows != len(tc.ratios) {
				t.Errorf("Write shows raw Raft's turns in %d rows, want %d:\n%s", rows, len(tc.ratios), out)
			}
			if len(tc.ratios) > 0 && !strings.Contains(out, "2.00ms") {
				t.Errorf("Write lacks Gallows' p50:\n%s", out)
			}
		})
	}
}
