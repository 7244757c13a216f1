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
)

// Fault kinds, in the order the test injects them.
const (
	faultKill       = "a. kill -9 leader, restart"
	faultDisconnect = "b. leader off the network 10 s"
	faultPause      = "c. pause leader 5 s"
	faultQuorum     = "d. kill 2 of 3 backends 20 s"
	faultDownUp     = "e. compose down, up"
	faultFrontend   = "f. kill -9 a frontend"
)

const (
	killRounds       = 10
	disconnectFor    = 10 * time.Second
	pauseFor         = 5 * time.Second
	noQuorumFor      = 20 * time.Second
	players          = 6
	think            = 20 * time.Millisecond
	testBudget       = 14 * time.Minute
	recoveryDeadline = 60 * time.Second
)

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
	w       *Workload
	start   time.Time
	results []outcome
	checks  int
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

// verify waits until the cluster is ready and every backend alive in every
// backend's gossip, parks the players, waits until the backends agree,
// checks every acknowledged guess against every backend, and lets the
// players go on.
func (h *chaos) verify(after string) {
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
	err = poll(ctx, 200*time.Millisecond, func() bool {
		res, err = Check(ctx, h.c, rooms)
		h.must(err, "read the backends' rooms after "+after)
		return len(res.Problems) == 0 || time.Since(start) > 30*time.Second
	})
	h.must(err, "check after "+after)
	if d := time.Since(start); d > time.Second {
		h.logf("the backends' game states agreed %v after their indexes did", d.Round(100*time.Millisecond))
	}
	h.checks++
	h.must(h.w.Resend(ctx), "send acknowledged guesses again after "+after)
	h.w.Resume()
	h.reportAnomalies()
	for i, p := range res.Problems {
		if i == 20 {
			h.t.Errorf("after %s: … %d more problems", after, len(res.Problems)-20)
			break
		}
		h.t.Errorf("after %s: %s", after, p)
	}
	h.logf("check after %s: %d rooms identical on all backends (applied index %d), %d acknowledged guesses all present once, %d problems",
		after, res.Rooms, applied, res.Acked, len(res.Problems))
	if len(res.Problems) > 0 {
		h.t.FailNow()
	}
}

// TestChaos runs docker-compose.yml under a project name and host ports of
// its own, plays through both frontends, injects faults (a)–(f) and checks
// after each that no acknowledged guess is lost or applied twice and that
// every backend holds the same state. It prints, per kind of fault, the
// time until the next acknowledged guess.
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
	c, err := New(Config{Dir: dir, Project: project, Image: image, Ports: ports, Compose: compose})
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
	h := &chaos{t: t, ctx: ctx, c: c, rec: NewRecorder(), start: time.Now()}
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
	}, h.rec)
	t.Cleanup(h.w.Stop)
	now := time.Now()
	h.nextAck(now, now, "first guess")
	h.logf("%d players playing through both frontends", players)

	for round := 1; round <= killRounds; round++ {
		h.killLeader(round)
	}
	h.disconnectLeader()
	h.pauseLeader()
	h.loseQuorum()
	h.downUp()
	h.killFrontend()

	h.must(h.w.Pause(ctx), "park the players")
	h.verify("the last fault")
	h.w.Stop()
	h.report()
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
// for 10 s, then connect it again.
func (h *chaos) disconnectLeader() {
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
	h.logf("(b) leader %s off the network for %v; next guess acknowledged after %v; leader now b%d",
		BackendID(l), disconnectFor, gap.Round(time.Millisecond), h.leader()+1)
	h.results = append(h.results, outcome{kind: faultDisconnect, gap: gap})
	h.verify("(b) disconnect")
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

// loseQuorum is fault (d): kill both followers, so the leader is alone.
// While they are down nothing may be acknowledged; guesses must be
// refused with 503 no_quorum once the frontend's bounded wait is over.
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
	// must have been refused with 503 no_quorum, after the frontend's
	// bounded wait.
	var during int
	var shortest time.Duration
	for _, a := range h.rec.Attempts() {
		if a.Sent.Before(t1) || a.Answered.After(tHeal) {
			continue
		}
		during++
		if a.Status != http.StatusServiceUnavailable || a.Code != "no_quorum" {
			h.t.Errorf("(d) %s %s %q (request %s) answered %d %q %s while two of three backends were down, want 503 no_quorum",
				a.Player, a.Kind, a.Letter, a.RequestID, a.Status, a.Code, a.Err)
		}
		if wait := a.Answered.Sub(a.Sent); during == 1 || wait < shortest {
			shortest = wait
		}
	}
	if during == 0 {
		h.t.Errorf("(d) no request was answered during the %v outage", noQuorumFor)
	}
	h.logf("(d) killed %s (leader b%d left alone) for %v: %d requests answered meanwhile, each refused with 503 no_quorum after %v or more; next guess %v after the restart",
		strings.Join(victims, ", "), l+1, noQuorumFor, during, shortest.Round(100*time.Millisecond), healGap.Round(time.Millisecond))
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

// writeRecord writes every request and reply to GALLOWS_CHAOS_RECORD, if
// set; it runs when the test ends, passed or failed.
func (h *chaos) writeRecord() {
	path := os.Getenv("GALLOWS_CHAOS_RECORD")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err == nil {
		err = h.rec.WriteJSONL(f)
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		h.t.Errorf("write the record: %v", err)
		return
	}
	h.logf("every request and reply written to %s", path)
}

// report prints the totals and, per kind of fault, the gaps.
func (h *chaos) report() {
	attempts := h.rec.Attempts()
	var acked, resent, failed int
	for _, a := range attempts {
		switch {
		case a.Acked():
			acked++
		case a.Kind == "resend" && a.Status == http.StatusOK:
			resent++
		case a.Status != http.StatusOK && a.Status != http.StatusCreated:
			failed++
		}
	}
	rooms := h.w.Rooms()
	h.reportAnomalies()

	var b strings.Builder
	fmt.Fprintf(&b, "%d requests, %d guesses acknowledged in %d rooms, %d refused or failed and retried, %d acknowledged guesses sent again and answered as the first time; %d checks passed, %d unexpected replies; %v in all\n\n",
		len(attempts), acked, len(rooms), failed, resent, h.checks, h.anomalies, time.Since(h.start).Round(time.Second))
	b.WriteString("| fault | count | median gap | max gap | median after heal | max after heal |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|\n")
	for _, kind := range []string{faultKill, faultDisconnect, faultPause, faultQuorum, faultDownUp, faultFrontend} {
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
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s |\n", kind, len(gaps), ms(median(gaps)), ms(slices.Max(gaps)),
			ms(median(heals)), ms(maxOr0(heals)))
	}
	h.logf("results (gap: from the fault — a killed process's exit, else the start of the docker command — to the first acknowledged guess sent once it was in effect; after heal: from the restart, or compose up returning, to the next acknowledged guess):\n%s", b.String())
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
