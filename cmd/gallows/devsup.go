package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gallows-game/gallows/frontend"
)

// supervisor runs gallows dev's backends, each as a child process of the
// same binary (gallows backend), and injects the cluster panel's faults
// into them: it implements frontend.Faults. Its methods are safe for
// concurrent use.
type supervisor struct {
	bin   string       // the gallows binary
	env   []string     // the children's environment
	out   io.Writer    // where the children's output goes, line by line
	log   *slog.Logger // dev's own log
	admin *http.Client // calls the backends' admin endpoints (cut)

	outMu sync.Mutex // one line at a time on out

	mu       sync.Mutex
	nodes    map[string]*child
	order    []string // ids in start order
	stopping bool     // stopAll began: exits are expected
}

// child is one backend: its command line and its current process.
type child struct {
	id        string
	args      []string
	adminAddr string

	// Under supervisor.mu:
	cmd      *exec.Cmd     // the current process; nil before the first start
	done     chan struct{} // closed when the current process has exited
	exitErr  error         // how it exited, once done
	expected bool          // its exit was asked for (kill -9, stop)
	frozen   *time.Timer   // the thaw of a freeze under way, if any
}

// running reports whether the child has a process that has not exited;
// under supervisor.mu.
func (c *child) running() bool {
	if c.cmd == nil {
		return false
	}
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// newSupervisor supervises children of bin; their output goes to out
// with each line prefixed by the child's id. admin is the TLS
// configuration that reaches the backends' admin endpoints.
func newSupervisor(bin string, out io.Writer, log *slog.Logger, admin *tls.Config) *supervisor {
	// A child takes its flags from its command line alone: the
	// GALLOWS_* variables dev itself may have been started with (say
	// GALLOWS_INSECURE) are not for it.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GALLOWS_") {
			env = append(env, kv)
		}
	}
	return &supervisor{
		bin: bin, env: env, out: out, log: log, nodes: map[string]*child{},
		admin: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: admin}},
	}
}

// add registers backend id with its gallows backend arguments and admin
// address; start starts it.
func (s *supervisor) add(id string, args []string, adminAddr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nodes[id] = &child{id: id, args: args, adminAddr: adminAddr}
	s.order = append(s.order, id)
}

// node returns child id, or an error wrapping frontend.ErrUnknownNode.
// Under s.mu.
func (s *supervisor) node(id string) (*child, error) {
	c := s.nodes[id]
	if c == nil {
		return nil, frontend.NodeError(frontend.ErrUnknownNode, fmt.Sprintf("no backend %q: the backends are %s", id, strings.Join(s.order, ", ")))
	}
	return c, nil
}

// start starts backend id's process, on the same data dir as before.
func (s *supervisor) start(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.node(id)
	if err != nil {
		return err
	}
	if c.running() {
		return frontend.NodeError(frontend.ErrNodeState, id+" is running: kill it first")
	}
	return s.startLocked(c)
}

// startLocked starts c's process; under s.mu. The process is started,
// and waited for, by one goroutine locked to its OS thread for the
// child's whole life: the kernel's Pdeathsig is tied to the thread that
// started the child, not to the process.
func (s *supervisor) startLocked(c *child) error {
	prefix := []byte(c.id + " | ")
	lines := &lineWriter{prefix: prefix, mu: &s.outMu, out: s.out}
	cmd := exec.Command(s.bin, append([]string{"backend"}, c.args...)...)
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = lines, lines
	cmd.SysProcAttr = childAttr()
	done := make(chan struct{})
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		err := cmd.Wait()
		lines.flush()
		s.mu.Lock()
		c.exitErr = err
		expected := c.expected || s.stopping
		if c.frozen != nil {
			c.frozen.Stop()
			c.frozen = nil
		}
		close(done)
		s.mu.Unlock()
		if !expected {
			s.log.Warn("backend exited by itself; restart it from the cluster panel or restart dev", "node", c.id, "err", exitText(err))
		}
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("dev: start backend %s: %w", c.id, err)
	}
	c.cmd, c.done, c.exitErr, c.expected = cmd, done, nil, false
	return nil
}

// exitText says how a process ended.
func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// exited returns the first backend whose process has exited without
// being asked to, and how; "" if none.
func (s *supervisor) exited() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.order {
		c := s.nodes[id]
		if c.cmd != nil && !c.running() && !c.expected {
			return id, errors.New(exitText(c.exitErr))
		}
	}
	return "", nil
}

// Kill kills backend id with SIGKILL and waits for it to be gone.
func (s *supervisor) Kill(ctx context.Context, id string) error {
	s.mu.Lock()
	c, err := s.node(id)
	if err == nil && !c.running() {
		err = frontend.NodeError(frontend.ErrNodeState, id+" is not running: restart it first")
	}
	if err != nil {
		s.mu.Unlock()
		return err
	}
	c.expected = true
	if c.frozen != nil {
		c.frozen.Stop()
		c.frozen = nil
	}
	proc, done := c.cmd.Process, c.done
	s.mu.Unlock()
	if err := proc.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("dev: kill -9 %s: %w", id, err)
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("dev: kill -9 %s: waiting for it to exit: %w", id, ctx.Err())
	}
}

// Restart starts a killed backend id again on its data dir.
func (s *supervisor) Restart(_ context.Context, id string) error {
	return s.start(id)
}

// Freeze stops backend id with SIGSTOP and continues it with SIGCONT
// after d.
func (s *supervisor) Freeze(_ context.Context, id string, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.runningNode(id)
	if err != nil {
		return err
	}
	if err := c.cmd.Process.Signal(sigFreeze); err != nil {
		return fmt.Errorf("dev: freeze %s: %w", id, err)
	}
	proc := c.cmd.Process
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if c.frozen != t {
			return // killed, or stopped, meanwhile
		}
		c.frozen = nil
		if err := proc.Signal(sigThaw); err != nil && !errors.Is(err, os.ErrProcessDone) {
			s.log.Warn("cannot thaw a frozen backend", "node", id, "err", err)
		}
	})
	c.frozen = t
	return nil
}

// runningNode returns child id if it runs and is not frozen; under s.mu.
func (s *supervisor) runningNode(id string) (*child, error) {
	c, err := s.node(id)
	switch {
	case err != nil:
		return nil, err
	case !c.running():
		return nil, frontend.NodeError(frontend.ErrNodeState, id+" is not running: restart it first")
	case c.frozen != nil:
		return nil, frontend.NodeError(frontend.ErrNodeState, id+" is frozen: wait until it thaws")
	}
	return c, nil
}

// Cut has backend id cut itself off from the network for d (its admin
// endpoint POST /v1/dev/cut, which gallows backend --dev-faults serves).
func (s *supervisor) Cut(ctx context.Context, id string, d time.Duration) error {
	s.mu.Lock()
	c, err := s.runningNode(id)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	u := "https://" + c.adminAddr + "/v1/dev/cut?for=" + url.QueryEscape(d.String())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return fmt.Errorf("dev: cut %s: %w", id, err)
	}
	resp, err := s.admin.Do(req)
	if err != nil {
		return fmt.Errorf("dev: cut %s: %w", id, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("dev: cut %s: %s answered %s: %s", id, c.adminAddr, resp.Status, bytes.TrimSpace(body))
	}
	return nil
}

// stopAll stops every backend with SIGTERM (each leaves serf, drains,
// then stops Raft) and waits for them: every one but last at once, then
// last (the leader: "" if none is known). Those still running when ctx
// ends are killed.
func (s *supervisor) stopAll(ctx context.Context, last string) error {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	var rest []string
	for _, id := range s.order {
		if id != last {
			rest = append(rest, id)
		}
	}
	err := s.stop(ctx, rest)
	if last != "" {
		err = errors.Join(err, s.stop(ctx, []string{last}))
	}
	return err
}

// stop stops the backends ids at once and waits for them.
func (s *supervisor) stop(ctx context.Context, ids []string) error {
	s.mu.Lock()
	var waits []*child
	for _, id := range ids {
		c := s.nodes[id]
		if c == nil || !c.running() {
			continue
		}
		if c.frozen != nil {
			c.frozen.Stop()
			c.frozen = nil
		}
		// A frozen process takes SIGTERM only once it continues.
		_ = c.cmd.Process.Signal(sigThaw)
		if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			s.log.Warn("cannot stop a backend", "node", id, "err", err)
		}
		waits = append(waits, c)
	}
	s.mu.Unlock()
	var errs []error
	for _, c := range waits {
		select {
		case <-c.done:
		case <-ctx.Done():
			_ = c.cmd.Process.Kill()
			<-c.done
			errs = append(errs, fmt.Errorf("dev: backend %s did not stop in time: killed", c.id))
			continue
		}
		s.mu.Lock()
		err := c.exitErr
		s.mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("dev: backend %s: %w", c.id, err))
		}
	}
	return errors.Join(errs...)
}

// killAll kills every backend at once and waits for them (dev failed to
// start).
func (s *supervisor) killAll() {
	s.mu.Lock()
	s.stopping = true
	var waits []chan struct{}
	for _, c := range s.nodes {
		if c.running() {
			_ = c.cmd.Process.Kill()
			waits = append(waits, c.done)
		}
	}
	s.mu.Unlock()
	for _, done := range waits {
		<-done
	}
}

// lineWriter writes what a child prints to out a whole line at a time,
// each line after prefix.
type lineWriter struct {
	prefix []byte
	mu     *sync.Mutex // shared by every child's writer: lines never interleave
	out    io.Writer

	buf []byte // a line begun and not ended yet; used by one goroutine (exec's copier)
}

// Write implements io.Writer.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(w.buf[:i+1])
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

// flush writes a last line that ended without a newline.
func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.emit(append(w.buf, '\n'))
		w.buf = nil
	}
}

func (w *lineWriter) emit(line []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, _ = w.out.Write(append(append([]byte(nil), w.prefix...), line...))
}
