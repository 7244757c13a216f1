package store

import (
	"sync/atomic"
	"time"
)

// pauseWatch notices that this process did not run for a while: stopped
// (SIGSTOP, docker pause) or stalled (a VM frozen). Raft's leadership
// check then cannot be trusted for a moment. hashicorp/raft counts an
// answer to a heartbeat for every confirmation waiting when the answer
// arrives, even one begun after the heartbeat was sent: answers a
// follower sent just before the stop, read after it, confirm a leader
// that others have replaced meanwhile. ReadIndex confirms leadership
// again until those answers are spent while a stop may be that recent.
type pauseWatch struct {
	base      time.Time     // monotonic origin of the times below
	tick      time.Duration // how often the watch runs
	threshold time.Duration // a gap longer than this is a stop
	window    time.Duration // how long after a stop reads wait
	last      atomic.Int64  // when the watch last ran, since base
	pausedAt  atomic.Int64  // when it last saw a stop end, since base
}

// newPauseWatch returns a watch that counts a gap over threshold as a
// stop and distrusts leadership checks for window after one.
func newPauseWatch(threshold, window time.Duration) *pauseWatch {
	w := &pauseWatch{base: time.Now(), tick: max(threshold/10, time.Millisecond), threshold: threshold, window: window}
	w.pausedAt.Store(-int64(window))
	return w
}

// run ticks until stop is closed.
func (w *pauseWatch) run(stop <-chan struct{}) {
	t := time.NewTicker(w.tick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			w.observe(time.Since(w.base))
		}
	}
}

// observe records a tick at now (since base).
func (w *pauseWatch) observe(now time.Duration) {
	if last := time.Duration(w.last.Swap(int64(now))); now-last > w.threshold {
		w.pausedAt.Store(int64(now))
	}
}

// recent reports whether a stop may have happened within the window: one
// seen lately, or one going on or just over that the watch has not run
// since.
func (w *pauseWatch) recent() bool { return w.recentAt(time.Since(w.base)) }

func (w *pauseWatch) recentAt(now time.Duration) bool {
	return now-time.Duration(w.last.Load()) > w.threshold || now-time.Duration(w.pausedAt.Load()) < w.window
}
