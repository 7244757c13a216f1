package chaostest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gallows-game/gallows/internal/history"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

const (
	// readerPause is a frontend reader's pause between two reads.
	readerPause = 5 * time.Millisecond
	// directReadEvery is how often a read of each room is sent to each
	// backend, whether or not the reads sent before were answered. Reads
	// that wait on a frozen backend overlap each other and every write
	// of the pause: porcupine's search grows exponentially with how many
	// of one room overlap (a dozen check in milliseconds, twenty take a
	// minute), so they are spread out.
	directReadEvery = 500 * time.Millisecond
	// directTick is how often the direct readers look for a room due.
	directTick = 20 * time.Millisecond
	// directInflight bounds the direct reads waiting on one backend.
	directInflight = 512
	// directReadTimeout bounds a direct read: longer than any pause, so
	// that a read queued on a frozen backend is answered once it thaws.
	directReadTimeout = 10 * time.Second
)

// DirectRead is one linearizable read sent straight to a backend's gRPC
// port.
type DirectRead struct {
	Backend  int
	Room     string
	Sent     time.Time
	Answered time.Time
	// Version is the version read; 0 if the read failed.
	Version uint64
	Err     string
}

// Readers read the players' current rooms until stopped: back to back
// through both frontends' JSON API, and straight from each backend over
// gRPC, a read of each room every 500 ms whether or not the ones before
// were answered. A frontend reader is one client of the history; each direct
// read is a client of its own, since many may be in flight at once. A
// read answered is recorded in the history (through the frontends, in the
// Recorder too); a failed one is not. A direct read waits up to 10 s, so
// the reads sent to a frozen backend queue up there and are answered, or
// refused, when it thaws: the case where a thawed leader could answer the
// reads sent while it was frozen, after the others had elected a new
// leader and acknowledged new writes, from the state it had when it froze.
type Readers struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	direct []DirectRead
}

// StartReaders starts perFrontend readers on each frontend of w and the
// direct reads of each backend of c.
func StartReaders(w *Workload, c *Cluster, perFrontend int) *Readers {
	ctx, cancel := context.WithCancel(w.ctx)
	rs := &Readers{cancel: cancel}
	for f := range w.cfg.Frontends {
		for k := range perFrontend {
			name := fmt.Sprintf("reader-f%d-%d", f+1, k+1)
			rs.wg.Go(func() { rs.viaFrontend(ctx, w, name, f, k) })
		}
	}
	for i := range Backends {
		rs.wg.Go(func() { rs.viaBackend(ctx, w, c, i) })
	}
	return rs
}

// Stop ends the readers, abandoning reads in flight, and returns the
// direct reads.
func (rs *Readers) Stop() []DirectRead {
	rs.cancel()
	rs.wg.Wait()
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return slices.Clone(rs.direct)
}

// pause waits d or until ctx ends (false).
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// viaFrontend reads the rooms one after the other through frontend f.
func (rs *Readers) viaFrontend(ctx context.Context, w *Workload, name string, f, offset int) {
	for n := offset; ; n++ {
		rooms := w.CurrentRooms()
		if len(rooms) > 0 {
			id := rooms[n%len(rooms)]
			a, _ := w.exchange(Attempt{Player: name, Kind: KindGet, Frontend: f, Room: id}, http.MethodGet, "/api/rooms/"+id, nil, "")
			switch a.Status {
			case 0, http.StatusOK, http.StatusServiceUnavailable:
			default:
				if ctx.Err() == nil {
					w.anomaly("%s: read %s: %d %s", name, id, a.Status, a.Body)
				}
			}
		}
		if !pause(ctx, readerPause) {
			return
		}
	}
}

// viaBackend sends a linearizable read of each room to backend i, over
// gRPC, every directReadEvery, each in a goroutine of its own.
func (rs *Readers) viaBackend(ctx context.Context, w *Workload, c *Cluster, i int) {
	slots := make(chan struct{}, directInflight)
	var reads sync.WaitGroup
	defer reads.Wait()
	last := map[string]time.Time{} // when each room was last read
	for n := 0; ; {
		for _, room := range w.CurrentRooms() {
			if time.Since(last[room]) < directReadEvery {
				continue
			}
			select {
			case slots <- struct{}{}:
			default:
				continue // as many reads wait on the backend as may
			}
			last[room] = time.Now()
			n++
			name := fmt.Sprintf("reader-%s-%d", BackendID(i), n)
			reads.Go(func() {
				defer func() { <-slots }()
				rs.readBackend(ctx, w, c, name, i, room)
			})
		}
		if !pause(ctx, directTick) {
			return
		}
	}
}

// readBackend reads room from backend i once, as client name.
func (rs *Readers) readBackend(ctx context.Context, w *Workload, c *Cluster, name string, i int, room string) {
	d := DirectRead{Backend: i, Room: room, Sent: time.Now()}
	rctx, cancel := context.WithTimeout(ctx, directReadTimeout)
	rep, err := c.Game(i).GetRoom(rctx, &pb.GetRoomRequest{RoomId: room, Level: pb.ReadLevel_READ_LEVEL_LINEARIZABLE})
	cancel()
	d.Answered = time.Now()
	if err != nil {
		d.Err = err.Error()
		// The room's creation was acknowledged before the read began.
		if status.Code(err) == codes.NotFound && ctx.Err() == nil {
			w.anomaly("%s: linearizable read of %s from %s: %v", name, room, BackendService(i), err)
		}
	} else {
		d.Version = rep.GetRoom().GetVersion()
		if w.hist != nil {
			w.hist.Add(history.Op{Client: name, Room: room, Kind: history.Get, Call: d.Sent, Return: d.Answered,
				Outcome: history.OK, Reply: stateOf(rep.GetRoom())})
		}
	}
	if ctx.Err() == nil {
		rs.mu.Lock()
		rs.direct = append(rs.direct, d)
		rs.mu.Unlock()
	}
}

// stateOf is what the history records of a room read over gRPC.
func stateOf(r *pb.Room) history.State {
	st := history.State{Version: r.GetVersion(), Round: r.GetRound(), Guessed: slices.Clone(r.GetGuessed())}
	switch r.GetStatus() {
	case pb.RoundStatus_ROUND_STATUS_WON:
		st.Status = history.StatusWon
	case pb.RoundStatus_ROUND_STATUS_LOST:
		st.Status = history.StatusLost
	default:
		st.Status = history.StatusPlaying
	}
	return st
}
