package localcluster

import (
	"context"
	"fmt"
	"time"
)

// pollEvery is how often Poll checks its condition.
const pollEvery = 5 * time.Millisecond

// Poll checks cond at once and then every few milliseconds until it holds
// (nil), or until ctx ends first: then its error says what it waited for.
// cond should return quickly, as ctx is checked only between its calls.
func Poll(ctx context.Context, what string, cond func() bool) error {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("localcluster: waiting for %s: %w", what, context.Cause(ctx))
		}
	}
	return nil
}
