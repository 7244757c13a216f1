package store

import (
	"testing"
	"time"
)

// The watch distrusts leadership checks while a stop may be recent: during
// a gap longer than the threshold (before it has even run again), and for
// the window after one; regular ticks, or gaps under the threshold, never.
func TestPauseWatch(t *testing.T) {
	ms := time.Millisecond
	w := newPauseWatch(100*ms, 400*ms)
	for at := 10 * ms; at <= 500*ms; at += 10 * ms {
		w.observe(at)
		if w.recentAt(at + 5*ms) {
			t.Fatalf("regular ticks: recent at %v", at)
		}
	}
	w.observe(590 * ms) // a 90 ms stall: under the threshold
	if w.recentAt(595 * ms) {
		t.Error("a stall under the threshold counted as a stop")
	}
	for _, tc := range []struct {
		name string
		at   time.Duration
		want bool
	}{
		{"a stop going on, the watch not run since", 800 * ms, true},
	} {
		if got := w.recentAt(tc.at); got != tc.want {
			t.Errorf("%s: recent = %v, want %v", tc.name, got, tc.want)
		}
	}
	w.observe(2000 * ms) // the stop ends: 1.41 s without a tick
	next := 2000 * ms
	for _, tc := range []struct {
		at   time.Duration
		want bool
	}{
		{2005 * ms, true},
		{2300 * ms, true},
		{2405 * ms, false},
	} {
		for ; next+10*ms < tc.at; next += 10 * ms {
			w.observe(next + 10*ms) // ticking regularly again
		}
		if got := w.recentAt(tc.at); got != tc.want {
			t.Errorf("%v after the stop ended: recent = %v, want %v", tc.at-2000*ms, got, tc.want)
		}
	}
}
