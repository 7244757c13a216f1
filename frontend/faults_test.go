package frontend_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gallows-game/gallows/internal/faultnet"
	"github.com/gallows-game/gallows/internal/localcluster"
	"github.com/gallows-game/gallows/internal/localcluster/localtest"
)

// The cluster panel's freeze and cut-off, on an in-process cluster
// (localcluster's Faults, on a fault network), each make the leader lose
// its place to another, and the backend takes part again once the fault
// ends by itself.
func TestFaultButtonsFreezeAndCutOffTheLeader(t *testing.T) {
	s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1, Network: faultnet.New(), Faults: true})
	base := s.URLs()[0]
	for _, tc := range []struct {
		action string
		lasts  time.Duration
	}{{"freeze", 5 * time.Second}, {"cut", 10 * time.Second}} {
		old := s.Leader().ID()
		var got map[string]string
		at := time.Now()
		mustDo(t, "POST", base+"/api/cluster/nodes/"+old+"/"+tc.action, nil, http.StatusAccepted, &got)
		if got["action"] != tc.action || got["node"] != old {
			t.Fatalf("%s %s answered %v", tc.action, old, got)
		}
		// Another leader, while the fault holds.
		next := s.Leader(old)
		if since := time.Since(at); since >= tc.lasts {
			t.Errorf("%s of leader %s: %s elected only after %v, when the fault had ended", tc.action, old, next.ID(), since)
		}
		t.Logf("%s of leader %s: %s elected %v after", tc.action, old, next.ID(), time.Since(at).Round(time.Millisecond))
		// Refused while it holds: it is frozen or cut off already.
		mustDo(t, "POST", base+"/api/cluster/nodes/"+old+"/"+tc.action, nil, http.StatusConflict, nil)
		// Back once it ends: every backend, old included, agrees on a
		// leader again.
		localtest.Poll(t, tc.lasts+20*time.Second, "the "+tc.action+" of "+old+" to end", func() bool {
			return time.Since(at) > tc.lasts && s.Node(old).Stats().LeaderID != ""
		})
		t.Logf("after the %s: %s leads, %s agrees", tc.action, s.Leader().ID(), old)
	}
	// kill -9 and restart through the same endpoints.
	old := s.Leader().ID()
	mustDo(t, "POST", base+"/api/cluster/nodes/"+old+"/kill", nil, http.StatusAccepted, nil)
	s.Leader(old)
	mustDo(t, "POST", base+"/api/cluster/nodes/"+old+"/kill", nil, http.StatusConflict, nil)
	mustDo(t, "POST", base+"/api/cluster/nodes/"+old+"/restart", nil, http.StatusAccepted, nil)
	localtest.Poll(t, 20*time.Second, old+" running again", func() bool { return s.Node(old) != nil })
	mustDo(t, "POST", base+"/api/cluster/nodes/b9/kill", nil, http.StatusNotFound, nil)
}
