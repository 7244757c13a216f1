package bench

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
)

// Target is the ratio of Gallows guesses to raw Raft applies per second
// that Gallows aims for.
const Target = 1.0

// Series is the reports of several runs made one after the other. On a
// machine whose disk and scheduler drift, one run says little: the ratio
// of a series, its median and how many runs reach Target, says more.
type Series []Report

// Ratios is the ratio of every run, in order.
func (s Series) Ratios() []float64 {
	rs := make([]float64, len(s))
	for i, r := range s {
		rs[i] = r.Ratio()
	}
	return rs
}

// Median is the median ratio of the runs (0 for no runs).
func (s Series) Median() float64 {
	rs := s.Ratios()
	if len(rs) == 0 {
		return 0
	}
	slices.Sort(rs)
	if len(rs)%2 == 1 {
		return rs[len(rs)/2]
	}
	return (rs[len(rs)/2-1] + rs[len(rs)/2]) / 2
}

// AtTarget is how many runs reached Target.
func (s Series) AtTarget() int {
	n := 0
	for _, r := range s.Ratios() {
		if r >= Target {
			n++
		}
	}
	return n
}

// Write prints one row per run (each side's ops/s and its slowest and
// fastest turn, Gallows' latencies, the ratio), then the median ratio,
// its range and how many runs reached Target.
func (s Series) Write(w io.Writer) error {
	if len(s) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\traft ops/s\traft turns\tgallows ops/s\tgallows turns\tgallows p50\tgallows p99\tratio\t")
	for i, r := range s {
		fmt.Fprintf(tw, "%d\t%.0f\t%s\t%.0f\t%s\t%s\t%s\t%.2f\t\n", i+1,
			r.Raft.OpsPerSec(), turnRange(r.Raft), r.Gallows.OpsPerSec(), turnRange(r.Gallows),
			ms(r.Gallows.P50), ms(r.Gallows.P99), r.Ratio())
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("bench: write series: %w", err)
	}
	rs := s.Ratios()
	runs := "runs"
	if len(s) == 1 {
		runs = "run"
	}
	if _, err := fmt.Fprintf(w, "ratio over %d %s: median %.2f, %.2f to %.2f; %d of %d at the target of %.2f or more\n",
		len(s), runs, s.Median(), slices.Min(rs), slices.Max(rs), s.AtTarget(), len(s), Target); err != nil {
		return fmt.Errorf("bench: write series: %w", err)
	}
	return nil
}

// turnRange is the rate of a side's slowest and fastest turn, "slow–fast".
func turnRange(r Result) string {
	if len(r.TurnOpsPerSec) == 0 {
		return "–"
	}
	slow, fast := r.TurnRange()
	return fmt.Sprintf("%.0f–%.0f", slow, fast)
}
