package frontend_test

// The harness of the browser tests (browser_test.go): one headless Chromium
// per test, tabs in separate browser contexts (so each has its own cookies),
// and helpers that give every step its own deadline and wait on DOM
// conditions instead of sleeping.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Step timeouts. They are generous because CI machines are slow and the
// tests run with -race; the assertions that matter (latency, monotonic
// versions) are measured, not implied by these.
const (
	brStartTimeout = 60 * time.Second // start Chromium, open a tab
	brStepTimeout  = 20 * time.Second // one navigation, click or query
)

// brChromium finds the browser: skipped without one, failed on CI.
func brChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium found (looked for chromium, chromium-browser, google-chrome in PATH): " +
			"the browser tests must run on CI; install Debian's chromium package")
	}
	t.Skip("no Chromium in PATH (chromium, chromium-browser, google-chrome): skipping browser test")
	return ""
}

// brLog collects Chromium's output and chromedp's errors, shown only when
// the test fails. It never calls t.Log itself, so that goroutines that
// outlive the test cannot log into it.
type brLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *brLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() < 1<<20 {
		l.buf.Write(p)
	}
	return len(p), nil
}

func (l *brLog) Logf(format string, args ...any) {
	_, _ = fmt.Fprintf(l, format+"\n", args...)
}

func (l *brLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var keep []string
	for line := range strings.Lines(l.buf.String()) {
		// Chromium in a container complains about the missing D-Bus.
		if !strings.Contains(line, "ERROR:dbus/") && !strings.Contains(line, "unexpected operator") {
			keep = append(keep, line)
		}
	}
	s := strings.Join(keep, "")
	if len(s) > 8000 {
		s = "…" + s[len(s)-8000:]
	}
	return s
}

// brBrowser is one running Chromium.
type brBrowser struct {
	t   *testing.T
	ctx context.Context // the browser's first context; tabs are its children
	w   int64
	h   int64
}

// brStartBrowser starts a headless Chromium with a window of w×h pixels; it
// is stopped when the test ends.
func brStartBrowser(t *testing.T, w, h int) *brBrowser {
	t.Helper()
	path := brChromium(t)
	logs := &brLog{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("browser output and chromedp errors:\n%s", logs)
		}
	})
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests may run as root
		chromedp.DisableGPU,
		chromedp.WindowSize(w, h),
		chromedp.CombinedOutput(logs),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(logs.Logf))
	t.Cleanup(cancel)
	// The first Do starts the browser and binds its life to ctx, so it gets
	// no timeout of its own: a timer cancels ctx if the start hangs.
	brGuardedStart(t, ctx, cancel, "start Chromium")
	return &brBrowser{t: t, ctx: ctx, w: int64(w), h: int64(h)}
}

// brGuardedStart runs the first Do on a chromedp context (which starts the
// browser or opens the tab, bound to ctx itself) with a deadline that does
// not end ctx when the start succeeds.
func brGuardedStart(t *testing.T, ctx context.Context, cancel context.CancelFunc, what string) {
	t.Helper()
	timer := time.AfterFunc(brStartTimeout, cancel)
	err := chromedp.Do(ctx)
	if !timer.Stop() {
		t.Fatalf("%s: not done within %v", what, brStartTimeout)
	}
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// brTab is one tab in a browser context of its own, with what the test
// observes of it over CDP.
type brTab struct {
	t    *testing.T
	name string
	ctx  context.Context

	mu          sync.Mutex
	changed     chan struct{}                // closed (and replaced) when a websocket opens or closes
	wsOpen      map[network.RequestID]string // open websockets: URL by request
	wsURL       map[network.RequestID]string // every websocket created
	wsOpened    int                          // handshakes completed
	wsClosed    int
	navigations int      // main-frame navigations (page loads)
	exceptions  []string // uncaught JavaScript exceptions
}

// tabOption configures a new tab.
type tabOption struct {
	width, height int64
	mobile        bool
	noScript      bool
}

// newTab opens a tab with its own cookie jar (a browser context of its
// own, as another browser profile would have), sized like the browser
// window unless opt says otherwise.
func (b *brBrowser) newTab(name string, opt tabOption) *brTab {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	return b.openTab(ctx, cancel, name, opt)
}

// sibling opens another tab in the browser context of tab: the same
// cookie jar, as a second tab of one browser profile.
func (b *brBrowser) sibling(tab *brTab, name string) *brTab {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(tab.ctx)
	return b.openTab(ctx, cancel, name, tabOption{})
}

// openTab sets up the tab of a new chromedp context.
func (b *brBrowser) openTab(ctx context.Context, cancel context.CancelFunc, name string, opt tabOption) *brTab {
	t := b.t
	t.Helper()
	t.Cleanup(cancel)
	brGuardedStart(t, ctx, cancel, "open tab "+name)
	tab := &brTab{t: t, name: name, ctx: ctx, changed: make(chan struct{}),
		wsOpen: map[network.RequestID]string{}, wsURL: map[network.RequestID]string{}}
	if err := chromedp.Listen(ctx, tab.onEvent); err != nil {
		t.Fatalf("tab %s: listen: %v", name, err)
	}
	if opt.width == 0 {
		opt.width, opt.height = b.w, b.h
	}
	var vp []chromedp.EmulateViewportOption
	if opt.mobile {
		vp = append(vp, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	steps := []chromedp.Action[chromedp.Void]{chromedp.EmulateViewport(opt.width, opt.height, vp...)}
	if opt.noScript {
		steps = append(steps, brCall(emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}))
	}
	tab.do("set up the tab", steps...)
	return tab
}

// onEvent runs in the tab's event loop: it only records.
func (tab *brTab) onEvent(ev any) {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventWebSocketCreated:
		tab.wsURL[ev.RequestID] = ev.URL
	case *network.EventWebSocketHandshakeResponseReceived:
		if ev.Response != nil && ev.Response.Status == 101 {
			tab.wsOpen[ev.RequestID] = tab.wsURL[ev.RequestID]
			tab.wsOpened++
			close(tab.changed)
			tab.changed = make(chan struct{})
		}
	case *network.EventWebSocketClosed:
		if _, ok := tab.wsOpen[ev.RequestID]; ok {
			delete(tab.wsOpen, ev.RequestID)
			tab.wsClosed++
			close(tab.changed)
			tab.changed = make(chan struct{})
		}
	case *page.EventFrameNavigated:
		if ev.Frame != nil && ev.Frame.ParentID == "" {
			tab.navigations++
		}
	case *runtime.EventExceptionThrown:
		if d := ev.ExceptionDetails; d != nil {
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg += " " + d.Exception.Description
			}
			tab.exceptions = append(tab.exceptions, fmt.Sprintf("%s:%d: %s", d.URL, d.LineNumber+1, msg))
		}
	}
}

// stats returns what was observed so far.
func (tab *brTab) stats() (navigations, wsOpened, wsClosed int, exceptions []string) {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	return tab.navigations, tab.wsOpened, tab.wsClosed, append([]string(nil), tab.exceptions...)
}

// openSocket reports whether a websocket whose URL contains part is open,
// and gives a channel that is closed at the next change.
func (tab *brTab) openSocket(part string) (bool, <-chan struct{}) {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	for _, u := range tab.wsOpen {
		if strings.Contains(u, part) {
			return true, tab.changed
		}
	}
	return false, tab.changed
}

// waitSocket waits until the page has an open websocket to a URL containing
// part (observed over CDP: the handshake answered 101).
func (tab *brTab) waitSocket(part string, timeout time.Duration) {
	tab.t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		open, changed := tab.openSocket(part)
		if open {
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			tab.t.Fatalf("tab %s: no open websocket to %q within %v%s", tab.name, part, timeout, tab.debugState())
		}
	}
}

// noExceptions fails the test if the page threw.
func (tab *brTab) noExceptions() {
	tab.t.Helper()
	if _, _, _, ex := tab.stats(); len(ex) > 0 {
		tab.t.Errorf("tab %s: uncaught JavaScript exceptions:\n%s", tab.name, strings.Join(ex, "\n"))
	}
}

// brCall makes an action of one CDP command.
func brCall[P any](cmd cdp.Command[P, cdp.Empty], params P) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, cmd, params)
		return err
	})
}

// brSetSession sets the session cookie of p for the origin of base, as
// the home page's nickname forms would: HttpOnly, SameSite=Lax.
func brSetSession(base string, p apiPlayer) chromedp.Action[chromedp.Void] {
	httpOnly := true
	return brCall(network.SetCookie, network.SetCookieParams{
		Name: "gallows_session", Value: p.Token, URL: base, Path: "/",
		HTTPOnly: &httpOnly, SameSite: network.CookieSameSiteLax,
	})
}

// do runs actions with one deadline, failing the test on error.
func (tab *brTab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tab.t.Helper()
	if err := tab.tryDo(brStepTimeout, actions...); err != nil {
		tab.t.Fatalf("tab %s: %s: %v%s", tab.name, what, err, tab.debugState())
	}
}

// tryDo runs actions with their own deadline; it is safe in a goroutine.
func (tab *brTab) tryDo(timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(tab.ctx, timeout)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// navigate loads a page and checks that it answered 200.
func (tab *brTab) navigate(u string) {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, brStepTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
	if err != nil {
		tab.t.Fatalf("tab %s: navigate to %s: %v", tab.name, u, err)
	}
	if resp.Status != 200 {
		tab.t.Fatalf("tab %s: %s answered %d", tab.name, u, resp.Status)
	}
}

// submit runs actions that must load a new page (a form post and its
// redirect) and waits for it; it returns the URL of the new page.
func (tab *brTab) submit(what string, actions ...chromedp.Action[chromedp.Void]) string {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, brStepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, actions...)
	if err != nil {
		tab.t.Fatalf("tab %s: %s: no new page: %v%s", tab.name, what, err, tab.debugState())
	}
	if resp.Status != 200 {
		tab.t.Fatalf("tab %s: %s: page answered %d", tab.name, what, resp.Status)
	}
	return resp.URL
}

// eval evaluates a JavaScript expression, failing the test on error.
func brEval[T any](tab *brTab, what, expr string) T {
	tab.t.Helper()
	v, err := brTryEval[T](tab, brStepTimeout, expr)
	if err != nil {
		tab.t.Fatalf("tab %s: %s: %v%s", tab.name, what, err, tab.debugState())
	}
	return v
}

func (tab *brTab) eval(what, expr string) {
	tab.t.Helper()
	brEval[chromedp.Void](tab, what, expr)
}

// brRun runs one action that returns a value, with its own deadline.
func brRun[T any](tab *brTab, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(tab.ctx, brStepTimeout)
	defer cancel()
	return chromedp.Run(ctx, a)
}

// await evaluates an expression that gives a promise and waits for it.
func (tab *brTab) await(what, expr string) {
	tab.t.Helper()
	if _, err := brRun(tab, chromedp.Evaluate[chromedp.Void](expr, chromedp.EvalAwaitPromise)); err != nil {
		tab.t.Fatalf("tab %s: %s: %v%s", tab.name, what, err, tab.debugState())
	}
}

// brTryEval evaluates with its own deadline; it is safe in a goroutine.
func brTryEval[T any](tab *brTab, timeout time.Duration, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(tab.ctx, timeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// waitJS waits until a JavaScript expression is truthy in the page.
func (tab *brTab) waitJS(timeout time.Duration, what, expr string) {
	tab.t.Helper()
	if err := tab.tryWaitJS(timeout, expr); err != nil {
		tab.t.Fatalf("tab %s: waiting %v for %s: %v%s", tab.name, timeout, what, err, tab.debugState())
	}
}

// tryWaitJS polls expr in the page every 10ms until it is truthy or timeout
// passes; it is safe in a goroutine.
func (tab *brTab) tryWaitJS(timeout time.Duration, expr string) error {
	// The page gives up at timeout; the context a little later, so that a
	// timeout is reported as one.
	ctx, cancel := context.WithTimeout(tab.ctx, timeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	return err
}

// debugState describes the page for a failure message.
func (tab *brTab) debugState() string {
	ctx, cancel := context.WithTimeout(tab.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const room = document.getElementById('room');
		const st = document.getElementById('status');
		const conn = document.getElementById('conn');
		return location.href +
			' version=' + (room ? room.getAttribute('data-version') : '-') +
			' status=' + JSON.stringify(st ? st.textContent : '') +
			' conn=' + JSON.stringify(conn ? conn.textContent : '') + '\n' +
			(document.querySelector('main') || document.body || document.documentElement).innerText.slice(0, 1500);
	})()`))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return "\n(page state: no answer)"
		}
		return "\n(page state: " + err.Error() + ")"
	}
	nav, opened, closed, ex := tab.stats()
	return fmt.Sprintf("\npage state: %s\n(navigations %d, websockets opened %d closed %d, exceptions %q)", s, nav, opened, closed, ex)
}

// brKeepScreenshot saves a full-page screenshot of tab as name.png in the
// directory GALLOWS_SCREENSHOTS names (docs/screenshots for the README),
// and does nothing when it is not set.
func brKeepScreenshot(t *testing.T, tab *brTab, name string) {
	t.Helper()
	dir := os.Getenv("GALLOWS_SCREENSHOTS")
	if dir == "" {
		return
	}
	tab.await("wait for a paint", `new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))`)
	png, err := brRun(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("%s: screenshot: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
