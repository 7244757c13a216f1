package localcluster

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gallows-game/gallows/frontend"
)

// Faults returns the actions of the cluster panel's fault buttons on this
// cluster (nil unless Config.Faults): kill -9 is Kill, restart Restart,
// freeze holds the backend's traffic on the fault network (Freeze) and
// cut off isolates it there (Isolate), each until a timer undoes it.
func (c *Cluster) Faults() frontend.Faults {
	if c.faults == nil {
		return nil
	}
	return c.faults
}

// faults implements frontend.Faults on a Cluster.
type faults struct {
	c      *Cluster
	mu     sync.Mutex
	timers map[string]*time.Timer // the timer that ends a backend's freeze or cut
}

// check returns an error unless id is a backend of the cluster that is
// running (want true) or stopped (want false).
func (f *faults) check(id string, running bool) error {
	if !slices.Contains(f.c.ids, id) {
		return frontend.NodeError(frontend.ErrUnknownNode, fmt.Sprintf("no backend %q", id))
	}
	switch is := f.c.Node(id) != nil; {
	case running && !is:
		return frontend.NodeError(frontend.ErrNodeState, id+" is not running: restart it first")
	case !running && is:
		return frontend.NodeError(frontend.ErrNodeState, id+" is running: kill it first")
	}
	return nil
}

// Kill kills backend id (Cluster.Kill). A freeze or cut it was under
// ends with it, as a process's would.
func (f *faults) Kill(_ context.Context, id string) error {
	if err := f.check(id, true); err != nil {
		return err
	}
	f.undo(id)
	return f.c.Kill(id)
}

// Restart starts a killed backend id again (Cluster.Restart).
func (f *faults) Restart(_ context.Context, id string) error {
	if err := f.check(id, false); err != nil {
		return err
	}
	_, err := f.c.Restart(id)
	return err
}

// Freeze holds backend id's traffic on the fault network for d.
func (f *faults) Freeze(_ context.Context, id string, d time.Duration) error {
	return f.apply(id, d, f.c.cfg.Network.Freeze)
}

// Cut isolates backend id on the fault network for d.
func (f *faults) Cut(_ context.Context, id string, d time.Duration) error {
	return f.apply(id, d, f.c.cfg.Network.Isolate)
}

// apply puts a running backend id under fault for d, unless a freeze or
// cut already holds it.
func (f *faults) apply(id string, d time.Duration, fault func(string)) error {
	if err := f.check(id, true); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.timers[id] != nil {
		return frontend.NodeError(frontend.ErrNodeState, id+" is frozen or cut off already")
	}
	fault(id)
	f.timers[id] = time.AfterFunc(d, func() { f.undo(id) })
	return nil
}

// undo ends a freeze or cut of backend id, if any.
func (f *faults) undo(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t := f.timers[id]; t != nil {
		t.Stop()
		delete(f.timers, id)
	}
	f.c.cfg.Network.Thaw(id)
	f.c.cfg.Network.HealHost(id)
}
