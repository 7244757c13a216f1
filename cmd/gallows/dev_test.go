package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gallows-game/gallows/internal/localcluster/localtest"
)

// syncBuffer is a bytes.Buffer a child process writes and the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// buildGallows builds the binary into a temp dir.
func buildGallows(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gallows")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// freeBasePort finds a --base-port whose 33 ports, and an HTTP port
// besides, are free now.
func freeBasePort(t *testing.T) (base int, httpAddr string) {
	t.Helper()
	for range 50 {
		base = 20000 + rand.IntN(30000)
		httpAddr = "127.0.0.1:" + strconv.Itoa(base+40)
		if portsFree(httpAddr, base) == nil {
			return base, httpAddr
		}
	}
	t.Fatal("no free block of ports for gallows dev")
	return 0, ""
}

// devAPI calls the JSON API of a gallows dev frontend.
type devAPI struct {
	t     *testing.T
	base  string
	token string
}

// do sends a request and decodes the answer into out, if given; it
// returns the status.
func (a devAPI) do(method, path string, body, out any) int {
	a.t.Helper()
	{
		var rd io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			if err != nil {
				a.t.Fatal(err)
			}
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequest(method, a.base+path, rd)
		if err != nil {
			a.t.Fatal(err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if a.token != "" {
			req.Header.Set("Authorization", "Bearer "+a.token)
		}
		client := &http.Client{Timeout: 10 * time.Second}
		resp, err := client.Do(req)
		if err != nil {
			a.t.Fatalf("%s %s: %v", method, path, err)
		}
		data, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode >= 400 {
			a.t.Logf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(data))
		}
		if out != nil && resp.StatusCode < 300 {
			if err := json.Unmarshal(data, out); err != nil {
				a.t.Fatalf("%s %s: %v: %s", method, path, err, data)
			}
		}
		return resp.StatusCode
	}
}

// devCluster is GET /api/cluster.
type devCluster struct {
	Leader string `json:"leader"`
	Nodes  []struct {
		ID   string `json:"id"`
		Role string `json:"role"`
		Term uint64 `json:"term"`
	} `json:"nodes"`
}

// role is node id's role, "" if it is not listed.
func (c devCluster) role(id string) string {
	for _, n := range c.Nodes {
		if n.ID == id {
			return n.Role
		}
	}
	return ""
}

// leaderUp is the leader if it answers, else "".
func (c devCluster) leaderUp() string {
	if c.Leader != "" && c.role(c.Leader) == "leader" {
		return c.Leader
	}
	return ""
}

// apiPoll checks cond every 150 ms, until it holds or timeout passes:
// slower than the frontend's rate limits for one client (10 writes and
// 20 reads a second), as a person clicking would be.
func apiPoll(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(150 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

// waitCluster polls the cluster until cond holds.
func (a devAPI) waitCluster(timeout time.Duration, what string, cond func(devCluster) bool) devCluster {
	a.t.Helper()
	var c devCluster
	apiPoll(a.t, timeout, what, func() bool {
		var got devCluster
		if a.do("GET", "/api/cluster", nil, &got) != http.StatusOK {
			return false
		}
		c = got
		return cond(c)
	})
	return c
}

// fault posts a fault action and checks it was accepted.
func (a devAPI) fault(node, action string) time.Time {
	a.t.Helper()
	at := time.Now()
	var got map[string]string
	if code := a.do("POST", "/api/cluster/nodes/"+node+"/"+action, nil, &got); code != http.StatusAccepted {
		a.t.Fatalf("POST %s %s: status %d, want 202", action, node, code)
	}
	if got["action"] != action || got["node"] != node {
		a.t.Fatalf("POST %s %s answered %v", action, node, got)
	}
	return at
}

// warnOrError finds the log lines at WARN or ERROR in log.
var warnOrError = regexp.MustCompile(`(?m)^.*level=(WARN|ERROR).*$`)

// devProc is a running gallows dev, started by startDev.
type devProc struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	env            []string
	cache          string // its XDG_CACHE_HOME, where it leaves its state
	httpAddr       string
	exited         chan error
	stopped        bool
}

// startDev starts gallows dev on free ports with args, and waits until
// it is up. It is killed when the test ends, if still running.
func startDev(t *testing.T, bin string, args ...string) *devProc {
	t.Helper()
	base, httpAddr := freeBasePort(t)
	cache := t.TempDir()
	d := &devProc{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cache: cache, httpAddr: httpAddr, exited: make(chan error, 1),
		env: append(os.Environ(), "XDG_CACHE_HOME="+cache, "HOME="+cache)}
	d.cmd = exec.Command(bin, append([]string{"dev", "--base-port", strconv.Itoa(base), "--http-addr", httpAddr}, args...)...)
	d.cmd.Env, d.cmd.Stdout, d.cmd.Stderr = d.env, d.stdout, d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.exited <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if !d.stopped {
			_ = d.cmd.Process.Kill() // the backends die with it (Pdeathsig)
			<-d.exited
		}
		if t.Failed() {
			t.Logf("gallows dev stdout:\n%s\nstderr (last part):\n%s", d.stdout.String(), tail([]byte(d.stderr.String()), 40000))
		}
	})
	localtest.Poll(t, 60*time.Second, "gallows dev to be up", func() bool {
		select {
		case err := <-d.exited:
			d.stopped = true
			t.Fatalf("gallows dev exited before it was up: %v", err)
		default:
		}
		return strings.Contains(d.stdout.String(), "Press Ctrl-C")
	})
	return d
}

// status runs gallows status with no flags, as dev's user would, and
// checks that it found the dev cluster.
func (d *devProc) status(t *testing.T, bin string) {
	t.Helper()
	status := exec.Command(bin, "status")
	status.Env = d.env
	var sout, serr bytes.Buffer
	status.Stdout, status.Stderr = &sout, &serr
	if err := status.Run(); err != nil {
		t.Fatalf("gallows status: %v\n%s%s", err, sout.String(), serr.String())
	}
	if !strings.Contains(serr.String(), "gallows dev cluster") || !strings.Contains(sout.String(), "leader: b") {
		t.Errorf("gallows status did not find the dev cluster:\nstdout:\n%s\nstderr:\n%s", sout.String(), serr.String())
	}
}

// interrupt sends Ctrl-C (SIGINT) and checks that dev exits 0, and its
// state file is gone.
func (d *devProc) interrupt(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.exited:
		d.stopped = true
		if err != nil {
			t.Errorf("gallows dev after Ctrl-C: %v, want exit status 0", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("gallows dev did not stop within 60 s of Ctrl-C")
	}
	if _, err := os.Stat(filepath.Join(d.cache, "gallows", "dev.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dev's state file is still there after it stopped (%v)", err)
	}
}

// TestDevQuietStartStop: a normal start of gallows dev and its stop by
// Ctrl-C log no warning and no error, at --log-level info, and
// gallows status finds the cluster while it runs.
func TestDevQuietStartStop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildGallows(t)
	d := startDev(t, bin, "--log-level", "info")
	d.status(t, bin)
	d.interrupt(t)
	logs := d.stderr.String()
	if bad := warnOrError.FindAllString(logs, 20); len(bad) > 0 {
		t.Errorf("start and stop logged warnings or errors:\n%s", strings.Join(bad, "\n"))
	}
	for _, want := range []string{"b1 | ", "b2 | ", "b3 | ", "backend stopped", "stopping: the frontend, then the backends"} {
		if !strings.Contains(logs, want) {
			t.Errorf("dev's log lacks %q", want)
		}
	}
}

// TestDevFaultButtons runs `gallows dev --fault-buttons` as a person
// would (three backend processes and the frontend), finds it with
// `gallows status`, and drives the cluster panel's faults through the
// JSON API: kill -9 of the leader (a new leader is elected and a guess
// acknowledged), restart (the node is back), freeze and cut-off of the
// leader (each elects another; the node comes back). Then Ctrl-C: dev
// exits 0, and its start logged no warning or error at --log-level info.
// (Its stop may: the gossip of the backends that were frozen and cut
// off settles for a while after the fault, and its warnings are true.
// TestDevQuietStartStop holds a stop after no fault to silence.)
func TestDevFaultButtons(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildGallows(t)
	d := startDev(t, bin, "--fault-buttons", "--log-level", "info")
	stderr, httpAddr := d.stderr, d.httpAddr
	startLog := len(stderr.String())
	d.status(t, bin)

	api := devAPI{t: t, base: "http://" + httpAddr}
	session := func(name string) string {
		var player struct {
			Token string `json:"token"`
		}
		if code := api.do("POST", "/api/players", map[string]string{"name": name}, &player); code != http.StatusCreated {
			t.Fatalf("POST /api/players: %d", code)
		}
		return player.Token
	}
	host := api
	host.token = session("ana")
	var room struct {
		ID string `json:"id"`
	}
	// ana picks the word; bo guesses.
	if code := host.do("POST", "/api/rooms", map[string]any{"word": "quick brown fox jumps", "max_lives": 20}, &room); code != http.StatusCreated {
		t.Fatalf("POST /api/rooms: %d", code)
	}
	api.token = session("bo")
	letters := "quickbrownfxjmpsaedgltvyz"
	next := 0
	// guessUntilAcked sends the next letter, again with the same request
	// id while the cluster is between leaders, until it is acknowledged.
	guessUntilAcked := func(timeout time.Duration) time.Time {
		t.Helper()
		l := string(letters[next])
		next++
		body := map[string]string{"letter": l, "request_id": "bo-" + l}
		var acked time.Time
		apiPoll(t, timeout, "guess "+l+" acknowledged", func() bool {
			switch code := api.do("POST", "/api/rooms/"+room.ID+"/guesses", body, nil); code {
			case http.StatusOK:
				acked = time.Now()
				return true
			case http.StatusServiceUnavailable, http.StatusTooManyRequests:
				return false
			default:
				t.Fatalf("guess %s: status %d", l, code)
				return false
			}
		})
		return acked
	}
	guessUntilAcked(10 * time.Second)

	// kill -9 of the leader: another is elected, play goes on.
	leader := api.waitCluster(20*time.Second, "a leader", func(c devCluster) bool { return c.leaderUp() != "" }).Leader
	killed := api.fault(leader, "kill")
	acked := guessUntilAcked(20 * time.Second)
	c := api.waitCluster(20*time.Second, "a leader other than "+leader, func(c devCluster) bool {
		return c.leaderUp() != "" && c.Leader != leader
	})
	t.Logf("kill -9 of leader %s: a guess acknowledged %v after the kill; %s leads (seen %v after the kill)",
		leader, acked.Sub(killed).Round(time.Millisecond), c.Leader, time.Since(killed).Round(time.Millisecond))
	if code := api.do("POST", "/api/cluster/nodes/"+leader+"/kill", nil, nil); code != http.StatusConflict {
		t.Errorf("kill of the killed %s: status %d, want 409", leader, code)
	}
	panel := api.page("/cluster")
	for _, want := range []string{leader + " killed (kill -9) while leading", "elected leader in term", "first guess acknowledged"} {
		if !strings.Contains(panel, want) {
			t.Errorf("the cluster panel's timeline lacks %q", want)
		}
	}

	// restart: the node is back.
	api.fault(leader, "restart")
	api.waitCluster(30*time.Second, leader+" back", func(c devCluster) bool {
		return c.role(leader) == "follower" || c.role(leader) == "leader"
	})

	// freeze and cut off of the leader: each elects another, and the node
	// comes back by itself.
	for _, action := range []string{"freeze", "cut"} {
		leader := api.waitCluster(20*time.Second, "a leader", func(c devCluster) bool {
			return c.leaderUp() != "" && len(c.Nodes) == 3 && c.role("b1") != "down" && c.role("b2") != "down" && c.role("b3") != "down"
		}).Leader
		at := api.fault(leader, action)
		c := api.waitCluster(30*time.Second, "a leader other than "+leader+" after "+action, func(c devCluster) bool {
			return c.leaderUp() != "" && c.Leader != leader
		})
		t.Logf("%s of leader %s: %s leads, seen %v after", action, leader, c.Leader, time.Since(at).Round(time.Millisecond))
		guessUntilAcked(20 * time.Second)
		api.waitCluster(40*time.Second, leader+" back after "+action, func(c devCluster) bool {
			r := c.role(leader)
			return r == "follower" || r == "leader"
		})
	}
	api.waitCluster(20*time.Second, "every node up and a leader", func(c devCluster) bool {
		return c.leaderUp() != "" && c.role("b1") != "down" && c.role("b2") != "down" && c.role("b3") != "down"
	})
	d.interrupt(t)
	logs := stderr.String()
	if bad := warnOrError.FindAllString(logs[:startLog], 20); len(bad) > 0 {
		t.Errorf("the start logged warnings or errors:\n%s", strings.Join(bad, "\n"))
	}
	if !strings.Contains(logs, "backend stopped") {
		t.Errorf("the log does not show the backends stopping:\n%s", tail([]byte(logs), 4000))
	}
}

// page gets a page of the frontend as HTML.
func (a devAPI) page(path string) string {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", a.base+path, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		a.t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	return string(b)
}

// The backend's --dev-faults is for gallows dev alone: --help does not
// list it and no environment variable sets it; dev's --fault-buttons is
// listed.
func TestDevFaultsFlagIsHidden(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"backend", "--help"}, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("backend --help: %v", err)
	}
	if strings.Contains(stderr.String(), "dev-faults") {
		t.Errorf("backend --help lists --dev-faults:\n%s", stderr.String())
	}
	stderr.Reset()
	if err := run(context.Background(), []string{"dev", "--help"}, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("dev --help: %v", err)
	}
	if !strings.Contains(stderr.String(), "--fault-buttons") {
		t.Errorf("dev --help does not list --fault-buttons:\n%s", stderr.String())
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	hidden := fs.Bool("secret", false, hiddenUsage+"for tests")
	t.Setenv("GALLOWS_SECRET", "true")
	if err := parse(fs, nil, io.Discard, ""); err != nil || *hidden {
		t.Errorf("a hidden flag was set from the environment (err %v)", err)
	}
}
