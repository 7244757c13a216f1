package hub

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestFanoutSmall covers the fan-out path in every test run: 50 sockets of
// one topic (served through Start, as in BenchmarkFanout1000) each receive
// every frame, byte-identical.
func TestFanoutSmall(t *testing.T) {
	const (
		sockets = 50
		frames  = 20
	)
	s := newStartTestServer(t, Config{Logger: slog.New(slog.DiscardHandler)})
	clients := make([]*websocket.Conn, sockets)
	for i := range clients {
		clients[i] = s.dial(t, "room", 0)
	}
	waitFor(t, "sockets to join", func() bool { return s.hub.Sockets("room") == sockets })

	for v := uint64(1); v <= frames; v++ {
		f := testFrame(v, "room state", 2048)
		s.hub.Publish("room", f)
		var wg sync.WaitGroup
		errs := make(chan error, sockets)
		for i, ws := range clients {
			wg.Go(func() {
				_ = ws.SetReadDeadline(time.Now().Add(waitTimeout))
				_, msg, err := ws.ReadMessage()
				switch {
				case err != nil:
					errs <- fmt.Errorf("socket %d, frame %d: %w", i, v, err)
				case !bytes.Equal(msg, f.Data):
					errs <- fmt.Errorf("socket %d got %.20q, want frame %d", i, msg, v)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
}

// The helper process of BenchmarkFanout1000 is this test binary, re-executed
// to run TestHelperClients with these variables set.
const (
	helperURLEnv     = "HUB_FANOUT_HELPER_URL"
	helperSocketsEnv = "HUB_FANOUT_HELPER_SOCKETS"
)

// Lines the helper writes on its stdout (anything else there is ignored):
//
//	fanout-ready <n>                   all n sockets are connected
//	fanout-got <version> <unix nanos>  the last socket got version then
const (
	readyLine = "fanout-ready"
	gotLine   = "fanout-got"
)

// BenchmarkFanout1000 measures the hub with 1,000 sockets on one topic:
//
//   - p50-ms, p99-ms: for each of 50 published frames of 2 KiB (about a
//     rendered room), the time from Publish until the last of the 1,000
//     sockets has received it. Frames are published 20ms apart, each once
//     the previous one has reached every socket, as room states come at a
//     human pace; with 50 frames per run p99 is the worst frame.
//   - B/socket: the server process's HeapInuse+StackInuse (after GC) with
//     1,000 idle sockets minus the same before they connected, per socket.
//     Only the first sub-benchmark of a process sees a cold server: the
//     later ones reuse the goroutine descriptors and stack spans the earlier
//     ones left, and read a few KiB low; run a sub-benchmark alone
//     (-bench 'Fanout1000/serve$') to compare.
//   - cpu-ms/frame: CPU time (user and system) of the server process per
//     published frame, while publishing (Linux and macOS).
//
// The clients run in a separate process (this test binary re-executed as
// TestHelperClients), so the memory figure counts the server side only. The
// same process measures latency: each client notes the wall-clock time it
// got each frame, and the helper reports on its stdout, per frame, the time
// the last client got it; the wall clock is shared by both processes on one
// machine. (In-process clients would share the heap and the scheduler with
// the hub and blur both figures; out of process they still compete for the
// same CPUs, as they would on one loopback machine anyway.)
//
// The sub-benchmarks:
//
//   - start: the recommended way; the handler hands the socket to Hub.Start
//     and returns, and every frame is one shared websocket.PreparedMessage;
//   - serve: the handler blocks in Hub.Serve, keeping net/http's request and
//     connection buffers as long as the socket;
//   - plain: like start, but each socket frames each frame itself through
//     WriteMessage and the pooled write buffers, instead of PreparedMessage.
func BenchmarkFanout1000(b *testing.B) {
	b.Run("start", func(b *testing.B) { benchmarkFanout(b, 1000, fanoutOptions{}) })
	b.Run("serve", func(b *testing.B) { benchmarkFanout(b, 1000, fanoutOptions{blockingServe: true}) })
	b.Run("plain", func(b *testing.B) { benchmarkFanout(b, 1000, fanoutOptions{plainWrites: true}) })
}

// fanoutOptions are the variants of the fan-out benchmark.
type fanoutOptions struct {
	blockingServe bool // the handler calls Serve rather than Start
	plainWrites   bool // no PreparedMessage
}

func benchmarkFanout(b *testing.B, sockets int, opt fanoutOptions) {
	const (
		framesPerRun = 50
		frameSize    = 2048
		pace         = 20 * time.Millisecond
	)
	h := New(Config{Logger: slog.New(slog.DiscardHandler)})
	h.plainWrites = opt.plainWrites
	up := NewUpgrader(func(*http.Request) bool { return true })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		if opt.blockingServe {
			_ = h.Serve(r.Context(), "room", ws, 0)
		} else {
			h.Start(context.WithoutCancel(r.Context()), "room", ws, 0, nil)
		}
	}))
	defer srv.Close()

	// The helper's stdout is read from a pipe made (with its reader
	// goroutine) before the baseline measurement.
	outR, outW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	defer outR.Close()
	lines := make(chan string, 2*framesPerRun)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "fanout-") {
				lines <- sc.Text()
			}
		}
	}()
	next := func(prefix string) []string {
		timeout := time.After(2 * time.Minute)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					b.Fatalf("helper exited while waiting for %s", prefix)
				}
				if f := strings.Fields(l); f[0] == prefix {
					return f[1:]
				}
			case <-timeout:
				b.Fatalf("helper: no %s line in time", prefix)
			}
		}
	}
	latencies := make([]time.Duration, 0, 1024)

	before := serverMemory()

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperClients$")
	cmd.Env = append(os.Environ(),
		helperURLEnv+"=ws"+strings.TrimPrefix(srv.URL, "http"),
		helperSocketsEnv+"="+strconv.Itoa(sockets))
	cmd.Stdout = outW
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe() // the helper exits when this closes
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	outW.Close()
	helperDone := make(chan error, 1)
	go func() { helperDone <- cmd.Wait() }()
	defer func() {
		h.Close() // closes every socket: the helper's clients end
		stdin.Close()
		select {
		case err := <-helperDone:
			if err != nil {
				b.Errorf("helper: %v", err)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			b.Error("helper did not exit; killed")
		}
	}()

	next(readyLine)
	deadline := time.Now().Add(time.Minute)
	for h.Sockets("room") != sockets {
		if time.Now().After(deadline) {
			b.Fatalf("%d sockets joined, want %d", h.Sockets("room"), sockets)
		}
		time.Sleep(10 * time.Millisecond)
	}
	after := serverMemory()
	perSocket := float64(after.total()-before.total()) / float64(sockets)
	b.Logf("server memory: heap in use %+d B, stacks %+d B, goroutines %+d; %.0f B per idle socket",
		after.heap-before.heap, after.stack-before.stack, after.goroutines-before.goroutines, perSocket)

	// publish publishes the next frame and returns how long it took to
	// reach the last socket.
	var version uint64
	publish := func() time.Duration {
		version++
		f := Frame{Version: version, Data: make([]byte, frameSize)}
		copy(f.Data, strconv.FormatUint(version, 10)+"|")
		start := time.Now()
		h.Publish("room", f)
		got := next(gotLine)
		v, _ := strconv.ParseUint(got[0], 10, 64)
		last, _ := strconv.ParseInt(got[1], 10, 64)
		if v != version {
			b.Fatalf("helper reported version %d, want %d", v, version)
		}
		return time.Unix(0, last).Sub(start)
	}
	// The first frame after the idle measurement is not counted: the GCs
	// shrank the stacks of every writer and reader goroutine, and they all
	// grow back on it (in both processes). It is logged.
	first := publish()
	cpu0 := processCPU()
	tick := time.NewTicker(pace)
	defer tick.Stop()
	for b.Loop() {
		for range framesPerRun {
			<-tick.C
			latencies = append(latencies, publish())
		}
	}
	b.StopTimer()
	cpu := processCPU() - cpu0

	slices.Sort(latencies)
	p50, p99 := percentile(latencies, 0.50), percentile(latencies, 0.99)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(p99), "p99-ms")
	b.ReportMetric(perSocket, "B/socket")
	if cpu0 >= 0 {
		b.ReportMetric(ms(cpu)/float64(len(latencies)), "cpu-ms/frame")
	}
	b.Logf("%d sockets, %d frames of %d B: publish → last socket p50 %.2f ms, p99 %.2f ms, max %.2f ms (first frame after idle, not counted: %.2f ms)",
		sockets, len(latencies), frameSize, ms(p50), ms(p99), ms(latencies[len(latencies)-1]), ms(first))
}

// percentile returns the p-quantile (nearest rank) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

// memory is the part of the process's memory the sockets account for.
type memory struct {
	heap, stack int64
	goroutines  int
}

func (m memory) total() int64 { return m.heap + m.stack }

// serverMemory measures this process after collecting garbage (twice, so
// that stacks shrink and finalizers run).
func serverMemory() memory {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memory{heap: int64(ms.HeapInuse), stack: int64(ms.StackInuse), goroutines: runtime.NumGoroutine()}
}

// TestHelperClients is the client process of BenchmarkFanout1000, not a test:
// it connects the sockets, reports when they are all connected, and reports
// for each frame version when the last socket got it. It exits when every
// socket is closed or its stdin closes.
func TestHelperClients(t *testing.T) {
	url := os.Getenv(helperURLEnv)
	if url == "" {
		t.Skip("helper process of BenchmarkFanout1000; runs only when re-executed by it")
	}
	n, err := strconv.Atoi(os.Getenv(helperSocketsEnv))
	if err != nil {
		t.Fatalf("%s: %v", helperSocketsEnv, err)
	}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0) // the benchmark is gone
	}()

	var (
		outMu sync.Mutex
		out   = bufio.NewWriter(os.Stdout)
	)
	report := func(format string, args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(out, format+"\n", args...)
		_ = out.Flush()
	}

	// Receipts of each version: how many sockets got it, and the latest
	// time one did. The benchmark publishes a frame only once the previous
	// one has reached every socket, so a small ring of slots is enough; the
	// socket that completes a version reports it and clears its slot.
	type receipt struct {
		count atomic.Int64
		last  atomic.Int64
	}
	var receipts [64]receipt
	got := func(v uint64, at int64) {
		r := &receipts[v%uint64(len(receipts))]
		for {
			last := r.last.Load()
			if at <= last || r.last.CompareAndSwap(last, at) {
				break
			}
		}
		if r.count.Add(1) == int64(n) {
			last := r.last.Load()
			r.count.Store(0)
			r.last.Store(0)
			report("%s %d %d", gotLine, v, last)
		}
	}

	ctx := context.Background()
	dialer := websocket.Dialer{HandshakeTimeout: time.Minute, ReadBufferSize: 4096, WriteBufferSize: 1024}
	conns := make([]*websocket.Conn, n)
	sem := make(chan struct{}, 64)
	var dials sync.WaitGroup
	for i := range conns {
		sem <- struct{}{}
		dials.Go(func() {
			defer func() { <-sem }()
			ws, _, err := dialer.DialContext(ctx, url, nil)
			if err != nil {
				t.Errorf("dial %d: %v", i, err)
				return
			}
			conns[i] = ws
		})
	}
	dials.Wait()
	if t.Failed() {
		return
	}

	var readers sync.WaitGroup
	for _, ws := range conns {
		readers.Go(func() {
			defer ws.Close()
			buf := make([]byte, 4096) // frames are read into it, without allocating
			for {
				_, r, err := ws.NextReader()
				if err != nil {
					return // the hub closed the socket
				}
				m, err := io.ReadFull(r, buf)
				if err != io.ErrUnexpectedEOF && err != nil {
					t.Errorf("read: %v", err)
					return
				}
				got(frameVersion(buf[:m]), time.Now().UnixNano())
			}
		})
	}
	report("%s %d", readyLine, n)
	readers.Wait()
}
