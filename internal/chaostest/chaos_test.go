package chaostest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gallows-game/gallows/internal/history"
	"github.com/gallows-game/gallows/internal/pki"
)

// Fault kinds, in the order the test injects them.
const (
	faultKill       = "a. kill -9 leader, restart"
	faultDisconnect = "b. leader off the network 6 s"
	faultPause      = "c. pause leader 5 s"
	faultQuorum     = "d. kill 2 of 3 backends 20 s"
	faultDownUp     = "e. compose down, up"
	faultFrontend   = "f. kill -9 a frontend"
	faultPauseReads = "g. pause leader 3-5 s, reads in flight"
)

// faultKinds lists the kinds of fault in the order of the summary.
var faultKinds = []string{faultKill, faultDisconnect, faultPause, faultQuorum, faultDownUp, faultFrontend, faultPauseReads}

// gapTargets are the median gaps the game aims for: a killed leader, and
// one cut off from the others (alive, not dead).
var gapTargets = map[string]time.Duration{
	faultKill:       500 * time.Millisecond,
	faultDisconnect: time.Second,
}

const (
	killRounds       = 10
	disconnectRounds = 3
	disconnectFor    = 6 * time.Second
	pauseFor         = 5 * time.Second
	noQuorumFor      = 20 * time.Second
	players          = 6
	think            = 20 * time.Millisecond
	testBudget       = 14 * time.Minute
	recoveryDeadline = 60 * time.Second
	// readersPerFrontend is how many readers read through each frontend
	// during fault (g), beside the reads sent straight to each backend.
	readersPerFrontend = 2
	// readersBefore and readersAfter are how long the readers of fault (g)
	// read before the pause and after the thaw.
	readersBefore = 500 * time.Millisecond
	readersAfter  = 1500 * time.Millisecond
	// historyCheckTimeout bounds the linearizability check of the history.
	historyCheckTimeout = time.Minute
)

// pauseReadsFor are the pauses of fault (g), one per round.
var pauseReadsFor = []time.Duration{3 * time.Second, 4 * time.Second, 5 * time.Second}

// outcome is one injected fault and how the game came back.
type outcome struct {
	kind string
	// gap is the time from the fault (a killed process's exit, else the
	// start of the docker command) to the first acknowledged guess sent
	// once the fault was in effect, so no guess the old leader
	// acknowledged just before it died counts.
	gap time.Duration
	// healGap is the same from the end of the fault (restart, up), for
	// faults that stop the game until then; 0 otherwise.
	healGap time.Duration
}

// chaos holds what the steps of TestChaos share.
type chaos struct {
	t       *testing.T
	ctx     context.Context
	c       *Cluster
	rec     *Recorder
	hist    *history.Recorder
	w       *Workload
	start   time.Time
	results []outcome
	checks  int
	// project is the compose project, which names the directory the
	// history of a failed run is written to.
	project string
	// historyReport is the history checker's report, once it ran.
	historyReport *history.Report
	// directReads counts the direct reads of fault (g) that were answered.
	directReads int
	// anomalies is how many of the workload's anomalies have been
	// reported as errors.
	anomalies int
}

func (h *chaos) logf(format string, args ...any) {
	h.t.Helper()
	h.t.Logf("[%6.1fs] %s", time.Since(h.start).Seconds(), fmt.Sprintf(format, args...))
}

// must fails the test at once on an error of the machinery (docker,
// compose, deadlines), as opposed to a finding about the system.
func (h *chaos) must(err error, what string) {
	h.t.Helper()
	if err != nil {
		h.t.Fatalf("%s: %v", what, err)
	}
}

// within returns a context for one step of the test.
func (h *chaos) within(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(h.ctx, d)
}

// nextAck waits for the first guess sent at or after t that is
// acknowledged, and returns how long after from it was answered.
func (h *chaos) nextAck(from, t time.Time, what string) time.Duration {
	h.t.Helper()
	ctx, cancel := h.within(recoveryDeadline)
	defer cancel()
	a, err := h.rec.NextAck(ctx, t)
	h.must(err, what)
	return a.Answered.Sub(from)
}

// leader returns the index of the agreed leader.
func (h *chaos) leader() int {
	h.t.Helper()
	ctx, cancel := h.within(recoveryDeadline)
	defer cancel()
	i, err := h.c.Leader(ctx)
	h.must(err, "find the leader")
	return i - 1
}

// verify checks the cluster (see check) and lets the players go on.
func (h *chaos) verify(after string) {
	h.t.Helper()
	h.check(after)
	h.w.Resume()
}

// check waits until the cluster is ready and every backend alive in every
// backend's gossip, parks the players, waits until the backends agree,
// checks every acknowledged guess against every backend and sends each
// player's last acknowledged write again. The players stay parked.
func (h *chaos) check(after string) {
	h.t.Helper()
	ctx, cancel := h.within(2 * recoveryDeadline)
	defer cancel()
	h.must(h.c.WaitReady(ctx), "cluster ready after "+after)
	gossipFrom := time.Now()
	h.must(h.c.WaitGossipAlive(ctx), "every backend alive in every backend's gossip after "+after)
	if d := time.Since(gossipFrom); d > time.Second {
		h.logf("gossip saw every backend alive %v after the cluster was ready", d.Round(100*time.Millisecond))
	}
	h.must(h.w.Pause(ctx), "park the players after "+after)
	applied, err := h.c.WaitConverged(ctx)
	h.must(err, "backends converge after "+after)
	// Equal indexes do not mean equal game states: a restarted node
	// re-applies its log to the game state after Raft has counted the
	// entries as applied. Read again until the states agree, or a while.
	rooms := h.w.Rooms()
	start := time.Now()
	var res CheckResult
	// A read that fails is tried again with the others, for as long: a
	// container just put back on the network may not resolve its peers'
	// names for a moment (Docker's DNS timing out).
	var readErr error
	err = poll(ctx, 200*time.Millisecond, func() bool {
		res, readErr = Check(ctx, h.c, rooms)
		if readErr != nil {
			return time.Since(start) > 30*time.Second
		}
		return len(res.Problems) == 0 || time.Since(start) > 30*time.Second
	})
	h.must(readErr, "read the backends' rooms after "+after)
	h.must(err, "check after "+after)
	if d := time.Since(start); d > time.Second {
		h.logf("the backends' game states agreed %v after their indexes did", d.Round(100*time.Millisecond))
	}
	h.checks++
	h.must(h.w.Resend(ctx), "send acknowledged writes again after "+after)
	h.reportAnomalies()
	for i, p := range res.Problems {
		if i == 20 {
			h.t.Errorf("after %s: … %d more problems", after, len(res.Problems)-20)
			break
		}
		h.t.Errorf("after %s: %s", after, p)
	}
	h.logf("check after %s: %d rooms identical on all backends (applied index %d), %d acknowledged guesses of current rounds all present once (and %d of earlier rounds counted in the versions), %d problems",
		after, res.Rooms, applied, res.Acked, res.Earlier, len(res.Problems))
	if len(res.Problems) > 0 {
		h.t.FailNow()
	}
}

// TestChaos runs docker-compose.yml under a project name and host ports of
// its own, plays through both frontends, injects faults (a)–(g) and checks
// after each that no acknowledged guess is lost or applied twice and that
// every backend holds the same state. At the end, with every fault healed,
// each room takes one more write and one more read, and the history of
// every request (guesses, resends, next rounds, reads) is checked with
// internal/history: linearizable per room, no caller seeing a room go
// back, no request answered two ways, no acknowledged write lost. It
// prints, per kind of fault, the time until the next acknowledged guess.
//
// It runs only when GALLOWS_CHAOS=1 (`make test-chaos` sets it after
// building the image). Without Docker or compose it is skipped, or fails
// when CI=true.
func TestChaos(t *testing.T) {
	if os.Getenv("GALLOWS_CHAOS") != "1" {
		t.Skip("container chaos test: run `make test-chaos` (or `make image` and GALLOWS_CHAOS=1)")
	}
	need := func(err error) {
		t.Helper()
		if err == nil {
			return
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("the chaos test needs Docker and compose, and CI=true: %v", err)
		}
		t.Skipf("chaos test skipped: %v", err)
	}
	need(DockerWorks())
	compose, err := FindCompose()
	need(err)

	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	image := os.Getenv("GALLOWS_IMAGE")
	if image == "" {
		image = "gallows:latest"
	}
	ports, err := FreePorts()
	if err != nil {
		t.Fatal(err)
	}
	project := NewProject()
	// The containers run secured, as make up runs them, with a CA and keys
	// of this run's own; both frontends sign sessions with its session
	// key, so a player who moves to the other frontend stays itself.
	certs, err := pki.CreateDev(t.TempDir(), "backend-1", "backend-2", "backend-3", "frontend-1", "frontend-2")
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Dir: dir, Project: project, Image: image, Ports: ports, Compose: compose, Certs: certs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	// Ctrl-C or SIGTERM end the test through its context, so that the
	// cleanups below still remove the containers and volumes.
	sigCtx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(sigCtx, testBudget)
	defer cancel()
	h := &chaos{t: t, ctx: ctx, c: c, rec: NewRecorder(), hist: history.NewRecorder(), start: time.Now(), project: project}
	t.Cleanup(h.writeRecord)
	if !c.ImageExists(ctx) {
		t.Fatalf("image %s not found: build it with `make image`", image)
	}
	h.logf("compose: %s, project %s, image %s, frontends %s %s", c.ComposeCommand(), project, image, c.FrontendURL(0), c.FrontendURL(1))

	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if t.Failed() {
			t.Logf("last log lines of every container:\n%s", c.Logs(cctx, 60))
		}
		if err := c.Down(cctx, true); err != nil {
			t.Errorf("compose down -v: %v", err)
		}
	})
	upCtx, upCancel := h.within(3 * time.Minute)
	h.must(c.Up(upCtx), "compose up")
	h.must(c.WaitReady(upCtx), "cluster ready")
	upCancel()
	h.must(c.MetricsOK(ctx), "backend metrics")
	h.logf("cluster up and ready; leader b%d", h.leader()+1)

	h.w = StartWorkload(WorkloadConfig{
		Frontends: []string{c.FrontendURL(0), c.FrontendURL(1)},
		Players:   players, Think: think,
		Logf: func(format string, args ...any) { h.logf(format, args...) },
	}, h.rec, h.hist)
	t.Cleanup(h.w.Stop)
	now := time.Now()
	h.nextAck(now, now, "first guess")
	h.logf("%d players playing through both frontends", players)

	for round := 1; round <= killRounds; round++ {
		h.killLeader(round)
	}
	for round := 1; round <= disconnectRounds; round++ {
		h.disconnectLeader(round)
	}
	h.pauseLeader()
	h.loseQuorum()
	h.downUp()
	h.killFrontend()
	for round, d := range pauseReadsFor {
		h.pauseLeaderReading(round+1, d)
	}

	// The end: every fault healed, the players finish their requests and
	// park, and each room takes a write that must succeed, then a read.
	h.must(h.w.Pause(ctx), "park the players")
	h.check("the last fault")
	finishCtx, finishCancel := h.within(recoveryDeadline)
	rooms, err := h.w.Finish(finishCtx)
	finishCancel()
	h.must(err, "the last write and read of every room")
	h.logf("every one of the %d rooms took a last next round and a last read", rooms)
	h.w.Stop()
	h.reportAnomalies()
	h.checkHistory()
	h.report()
}

// checkHistory checks the history of every request with internal/history
// and fails the test if the report is not OK or a room has no last read
// after its acknowledged writes.
func (h *chaos) checkHistory() {
	h.t.Helper()
	r := history.Check(h.hist.Ops(), h.hist.Events(), historyCheckTimeout)
	h.historyReport = &r
	h.logf("history: %s", r.String())
	if !r.OK() || r.Unchecked > 0 {
		h.t.Errorf("the history check failed:\n%s", r.Details())
	}
}

// inject runs a docker step and returns when it began and when it
// returned, by which time the fault is in effect.
func (h *chaos) inject(what string, f func(context.Context) error) (began, done time.Time) {
	h.t.Helper()
	ctx, cancel := h.within(recoveryDeadline)
	defer cancel()
	began = time.Now()
	h.must(f(ctx), what)
	return began, time.Now()
}

// killLeader is fault (a): SIGKILL the leader's container, wait for the
// game to go on, start the container again.
func (h *chaos) killLeader(round int) {
	l := h.leader()
	svc := BackendService(l)
	var died time.Time
	t0, _ := h.inject("kill "+svc, func(ctx context.Context) (err error) {
		died, err = h.c.Kill(ctx, svc)
		return err
	})
	gap := h.nextAck(died, died, "a guess after killing the leader")
	h.logf("(a) %d/%d: killed leader %s (it died %v after docker kill began); next guess acknowledged %v after it died; new leader b%d",
		round, killRounds, BackendID(l), died.Sub(t0).Round(time.Millisecond), gap.Round(time.Millisecond), h.leader()+1)
	h.inject("start "+svc, func(ctx context.Context) error { return h.c.Start(ctx, svc) })
	h.results = append(h.results, outcome{kind: faultKill, gap: gap})
	h.verify(fmt.Sprintf("(a) kill %d", round))
}

// holdUntil waits until t: the time a fault lasts.
func (h *chaos) holdUntil(t time.Time) {
	select {
	case <-time.After(time.Until(t)):
	case <-h.ctx.Done():
		h.t.Fatalf("test budget spent: %v", h.ctx.Err())
	}
}

// disconnectLeader is fault (b): take the leader off the compose network
// for a while, then connect it again.
func (h *chaos) disconnectLeader(round int) {
	l := h.leader()
	svc := BackendService(l)
	var reconnect func(context.Context) error
	t0, t1 := h.inject("disconnect "+svc, func(ctx context.Context) (err error) {
		reconnect, err = h.c.Disconnect(ctx, svc)
		return err
	})
	h.holdUntil(t0.Add(disconnectFor))
	h.inject("reconnect "+svc, reconnect)
	gap := h.nextAck(t0, t1, "a guess after cutting the leader off")
	h.logf("(b) %d/%d: leader %s off the network for %v (disconnecting took %v); next guess acknowledged after %v; leader now b%d",
		round, disconnectRounds, BackendID(l), disconnectFor, t1.Sub(t0).Round(time.Millisecond), gap.Round(time.Millisecond), h.leader()+1)
	h.results = append(h.results, outcome{kind: faultDisconnect, gap: gap})
	h.verify(fmt.Sprintf("(b) disconnect %d", round))
}

// pauseLeader is fault (c): freeze the leader's container for 5 s.
func (h *chaos) pauseLeader() {
	l := h.leader()
	svc := BackendService(l)
	t0, t1 := h.inject("pause "+svc, func(ctx context.Context) error { return h.c.Pause(ctx, svc) })
	h.holdUntil(t0.Add(pauseFor))
	h.inject("unpause "+svc, func(ctx context.Context) error { return h.c.Unpause(ctx, svc) })
	gap := h.nextAck(t0, t1, "a guess after pausing the leader")
	h.logf("(c) leader %s paused for %v; next guess acknowledged after %v; leader now b%d",
		BackendID(l), pauseFor, gap.Round(time.Millisecond), h.leader()+1)
	h.results = append(h.results, outcome{kind: faultPause, gap: gap})
	h.verify("(c) pause")
}

// pauseLeaderReading is fault (g): freeze the leader's container for d
// while the players go on and readers read the rooms through both
// frontends and straight from every backend, then thaw it. A read queued
// on the frozen leader is answered after the thaw; it must still be
// linearizable, which the history check at the end decides.
func (h *chaos) pauseLeaderReading(round int, d time.Duration) {
	readers := StartReaders(h.w, h.c, readersPerFrontend)
	h.holdUntil(time.Now().Add(readersBefore))
	l := h.leader()
	svc := BackendService(l)
	t0, t1 := h.inject("pause "+svc, func(ctx context.Context) error { return h.c.Pause(ctx, svc) })
	h.holdUntil(t0.Add(d))
	tThaw, _ := h.inject("unpause "+svc, func(ctx context.Context) error { return h.c.Unpause(ctx, svc) })
	gap := h.nextAck(t0, t1, "a guess after pausing the leader")
	h.holdUntil(tThaw.Add(readersAfter))
	direct := readers.Stop()

	// Reads answered while the leader was frozen, and direct reads sent to
	// it while it was frozen: answered after the thaw, or refused.
	var during, failed, thawed, thawedFailed int
	for _, a := range h.rec.Attempts() {
		if a.Kind == KindGet && a.Answered.After(t1) && a.Answered.Before(tThaw) {
			if a.Status == http.StatusOK {
				during++
			} else {
				failed++
			}
		}
	}
	var directOK int
	for _, r := range direct {
		if r.Err == "" {
			directOK++
		}
		if r.Backend == l && r.Sent.After(t1) && r.Sent.Before(tThaw) {
			if r.Err == "" {
				thawed++
			} else {
				thawedFailed++
			}
		}
	}
	h.directReads += directOK
	h.logf("(g) %d/%d: leader %s paused for %v; next guess acknowledged after %v; leader now b%d; %d reads through the frontends answered during the pause (%d failed); %d direct reads answered; of the direct reads sent to the frozen leader, %d were answered after the thaw, %d refused",
		round, len(pauseReadsFor), BackendID(l), d, gap.Round(time.Millisecond), h.leader()+1, during, failed, directOK, thawed, thawedFailed)
	if during == 0 {
		h.t.Errorf("(g) no read through a frontend was answered while the leader was paused")
	}
	h.results = append(h.results, outcome{kind: faultPauseReads, gap: gap})
	h.verify(fmt.Sprintf("(g) pause %d with reads", round))
}

// loseQuorum is fault (d): kill both followers, so the leader is alone.
// While they are down nothing may be acknowledged; guesses must be
// refused with 503 once the frontend's bounded wait is over: no_majority
// (one of three game servers up), or no_quorum from a frontend whose
// cluster status had not yet caught up.
func (h *chaos) loseQuorum() {
	l := h.leader()
	var victims []string
	for i := range Backends {
		if i != l {
			victims = append(victims, BackendService(i))
		}
	}
	// The outage starts once neither process runs any more.
	var t1 time.Time
	h.inject("kill "+strings.Join(victims, " and "), func(ctx context.Context) error {
		for _, svc := range victims {
			died, err := h.c.Kill(ctx, svc)
			if err != nil {
				return err
			}
			if died.After(t1) {
				t1 = died
			}
		}
		return nil
	})
	t0 := t1
	h.holdUntil(t1.Add(noQuorumFor))
	// The outage ends when the first restart begins: a node started may
	// commit before the second one is.
	tHeal, _ := h.inject("start "+strings.Join(victims, " and "), func(ctx context.Context) error {
		for _, svc := range victims {
			if err := h.c.Start(ctx, svc); err != nil {
				return err
			}
		}
		return nil
	})
	healGap := h.nextAck(tHeal, tHeal, "a guess after the quorum came back")
	gap := h.nextAck(t0, t1, "a guess after the quorum came back")

	// Requests sent during the outage and answered before it ended: each
	// must have been refused with 503 no_majority (or no_quorum), after
	// the frontend's bounded wait.
	var during, noMajority int
	var shortest time.Duration
	for _, a := range h.rec.Attempts() {
		if a.Sent.Before(t1) || a.Answered.After(tHeal) {
			continue
		}
		during++
		if a.Code == "no_majority" {
			noMajority++
		}
		if a.Status != http.StatusServiceUnavailable || (a.Code != "no_majority" && a.Code != "no_quorum") {
			h.t.Errorf("(d) %s %s %q (request %s) answered %d %q %s while two of three backends were down, want 503 no_majority",
				a.Player, a.Kind, a.Letter, a.RequestID, a.Status, a.Code, a.Err)
		}
		if wait := a.Answered.Sub(a.Sent); during == 1 || wait < shortest {
			shortest = wait
		}
	}
	if during == 0 {
		h.t.Errorf("(d) no request was answered during the %v outage", noQuorumFor)
	}
	h.logf("(d) killed %s (leader b%d left alone) for %v: %d requests answered meanwhile, each refused with 503 (%d no_majority, the rest no_quorum) after %v or more; next guess %v after the restart",
		strings.Join(victims, ", "), l+1, noQuorumFor, during, noMajority, shortest.Round(100*time.Millisecond), healGap.Round(time.Millisecond))
	h.results = append(h.results, outcome{kind: faultQuorum, gap: gap, healGap: healGap})
	h.verify("(d) quorum loss")
}

// downUp is fault (e): compose down (containers and network removed,
// volumes kept), then up again. All acknowledged state must survive.
func (h *chaos) downUp() {
	ctx, cancel := h.within(3 * time.Minute)
	defer cancel()
	t0 := time.Now()
	h.must(h.c.Down(ctx, false), "compose down")
	t1 := time.Now()
	h.must(h.c.Up(ctx), "compose up")
	tHeal := time.Now()
	healGap := h.nextAck(tHeal, tHeal, "a guess after compose up")
	gap := h.nextAck(t0, t1, "a guess after compose up")
	h.logf("(e) compose down took %v, up %v; next guess acknowledged %v after up returned",
		t1.Sub(t0).Round(time.Millisecond), tHeal.Sub(t1).Round(time.Millisecond), healGap.Round(time.Millisecond))
	h.results = append(h.results, outcome{kind: faultDownUp, gap: gap, healGap: healGap})
	h.verify("(e) down and up")
}

// killFrontend is fault (f): SIGKILL frontend-1; its players must go on
// through frontend-2. Then start it again.
func (h *chaos) killFrontend() {
	const victim = 0
	svc := FrontendService(victim)
	var t1 time.Time
	h.inject("kill "+svc, func(ctx context.Context) (err error) {
		t1, err = h.c.Kill(ctx, svc)
		return err
	})
	// Every player of the killed frontend plays on through the other: the
	// gap is until the last of them has a guess acknowledged there.
	var moved []string
	for name, home := range h.w.Players() {
		if home == victim {
			moved = append(moved, name)
		}
	}
	slices.Sort(moved)
	ctx, cancel := h.within(recoveryDeadline)
	defer cancel()
	var gap time.Duration
	err := poll(ctx, 50*time.Millisecond, func() bool {
		first := map[string]time.Time{}
		for _, a := range h.rec.Attempts() {
			if a.Acked() && !a.Sent.Before(t1) && a.Frontend != victim && slices.Contains(moved, a.Player) {
				if f, ok := first[a.Player]; !ok || a.Answered.Before(f) {
					first[a.Player] = a.Answered
				}
			}
		}
		if len(first) < len(moved) {
			return false
		}
		for _, f := range first {
			gap = max(gap, f.Sub(t1))
		}
		return true
	})
	h.must(err, fmt.Sprintf("players %v acknowledged through the other frontend", moved))
	h.logf("(f) killed %s; its players %v all had a guess acknowledged through %s within %v",
		svc, moved, FrontendService(1-victim), gap.Round(time.Millisecond))
	h.inject("start "+svc, func(ctx context.Context) error { return h.c.Start(ctx, svc) })
	h.results = append(h.results, outcome{kind: faultFrontend, gap: gap})
	h.verify("(f) frontend kill")
}

// reportAnomalies fails the test on each unexpected reply the players got
// since the last call.
func (h *chaos) reportAnomalies() {
	h.t.Helper()
	all := h.w.Anomalies()
	for _, a := range all[h.anomalies:] {
		h.t.Errorf("unexpected reply: %s", a)
	}
	h.anomalies = len(all)
}

// writeRecord runs when the test ends, passed or failed. It writes every
// request and reply to GALLOWS_CHAOS_RECORD, if set, and the history next
// to it (<record>.history.json). When the test failed, it writes into
// GALLOWS_CHAOS_OUT (default: <temp dir>/<compose project>) the history
// (history.json, for history.ReadJSON), every request and reply
// (requests.jsonl) and, if the history check ran and found a room not
// linearizable, porcupine's view of that room (room-<code>.html).
func (h *chaos) writeRecord() {
	if path := os.Getenv("GALLOWS_CHAOS_RECORD"); path != "" {
		err := h.writeRequests(path)
		err = errors.Join(err, h.hist.WriteJSON(strings.TrimSuffix(path, filepath.Ext(path))+".history.json"))
		if err != nil {
			h.t.Errorf("write the record: %v", err)
		} else {
			h.logf("every request and reply written to %s, the history to %s", path, strings.TrimSuffix(path, filepath.Ext(path))+".history.json")
		}
	}
	if !h.t.Failed() {
		return
	}
	dir := os.Getenv("GALLOWS_CHAOS_OUT")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), h.project)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		h.t.Errorf("write the history of the failed run: %v", err)
		return
	}
	paths := []string{filepath.Join(dir, "requests.jsonl")}
	err := h.writeRequests(paths[0])
	if h.historyReport != nil {
		// The report's own copy of the history, and porcupine's view of
		// every room not shown linearizable.
		written, werr := h.historyReport.WriteFailure(dir)
		paths = append(paths, written...)
		err = errors.Join(err, werr)
	}
	histPath := filepath.Join(dir, "history.json")
	if !slices.Contains(paths, histPath) {
		err = errors.Join(err, h.hist.WriteJSON(histPath))
		paths = append(paths, histPath)
	}
	if err != nil {
		h.t.Errorf("write the history of the failed run: %v", err)
	}
	h.t.Logf("the failed run's history and requests are in %s: %s", dir, strings.Join(paths, " "))
}

// writeRequests writes every request and reply to path, as JSON lines.
func (h *chaos) writeRequests(path string) error {
	f, err := os.Create(path)
	if err == nil {
		err = h.rec.WriteJSONL(f)
		err = errors.Join(err, f.Close())
	}
	return err
}

// report prints the totals and, per kind of fault, the gaps.
func (h *chaos) report() {
	attempts := h.rec.Attempts()
	var acked, nextRounds, reads, resent, failed int
	for _, a := range attempts {
		switch {
		case a.Acked():
			acked++
		case a.Status == http.StatusOK && a.Kind == KindNextRound:
			nextRounds++
		case a.Status == http.StatusOK && a.Kind == KindGet:
			reads++
		case a.Status == http.StatusOK && (a.Kind == KindResend || a.Kind == KindResendRound):
			resent++
		case a.Status != http.StatusOK && a.Status != http.StatusCreated:
			failed++
		}
	}
	rooms := h.w.Rooms()
	h.reportAnomalies()

	var b strings.Builder
	fmt.Fprintf(&b, "%d requests: %d guesses and %d next rounds acknowledged in %d rooms, %d reads answered through the frontends (and %d straight from the backends), %d refused or failed (writes retried), %d acknowledged writes sent again and answered as the first time; %d checks passed, %d unexpected replies; %v in all\n",
		len(attempts), acked, nextRounds, len(rooms), reads, h.directReads, failed, resent, h.checks, h.anomalies, time.Since(h.start).Round(time.Second))
	if r := h.historyReport; r != nil {
		var ok, fail, unknown, gets int
		for _, op := range h.hist.Ops() {
			switch {
			case op.Kind == history.Get:
				gets++
			case op.Outcome == history.OK:
				ok++
			case op.Outcome == history.Fail:
				fail++
			default:
				unknown++
			}
		}
		fmt.Fprintf(&b, "history: %d operations (%d reads; writes: %d ok, %d refused, %d unknown) in %d rooms: %s\n",
			r.Ops, gets, ok, fail, unknown, r.Rooms, r.String())
	}
	b.WriteString("\n| fault | count | median gap | max gap | median after heal | max after heal | median target |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|\n")
	var missed []string
	for _, kind := range faultKinds {
		var gaps, heals []time.Duration
		for _, r := range h.results {
			if r.kind == kind {
				gaps = append(gaps, r.gap)
				if r.healGap > 0 {
					heals = append(heals, r.healGap)
				}
			}
		}
		if len(gaps) == 0 {
			continue
		}
		target := gapTargets[kind]
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s |\n", kind, len(gaps), ms(median(gaps)), ms(slices.Max(gaps)),
			ms(median(heals)), ms(maxOr0(heals)), ms(target))
		if target > 0 && median(gaps) > target {
			missed = append(missed, fmt.Sprintf("%s: median %s, target %s", kind, ms(median(gaps)), ms(target)))
		}
	}
	h.logf("results (gap: from the fault — a killed process's exit, else the start of the docker command — to the first acknowledged guess sent once it was in effect; after heal: from the restart, or compose up returning, to the next acknowledged guess):\n%s", b.String())
	if len(missed) > 0 {
		// Timing depends on the machine: a missed target is reported, not
		// failed.
		h.logf("gap targets missed: %s", strings.Join(missed, "; "))
	}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func maxOr0(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return slices.Max(ds)
}

func ms(d time.Duration) string {
	if d == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}
