package gameclient

import (
	"testing"
	"time"

	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

func event(v uint64) *pb.RoomEvent { return &pb.RoomEvent{Room: &pb.Room{Version: v}} }

func TestDeliverKeepsOnlyNewerAndLatest(t *testing.T) {
	w := &roomWatch{c: &Client{}, last: 2, out: make(chan *pb.RoomEvent, 1)}
	for _, v := range []uint64{1, 2, 3, 5, 4, 5} {
		w.deliver(event(v))
	}
	if got := (<-w.out).GetRoom().GetVersion(); got != 5 {
		t.Fatalf("pending event has version %d, want 5 (the latest)", got)
	}
	w.deliver(event(5))
	w.deliver(&pb.RoomEvent{})
	select {
	case ev := <-w.out:
		t.Fatalf("delivered %v after version 5", ev)
	default:
	}
	w.deliver(event(6))
	if got := (<-w.out).GetRoom().GetVersion(); got != 6 {
		t.Fatalf("got version %d, want 6", got)
	}
	// The client remembers the newest version it delivered, for its reads.
	if got := w.c.SeenVersion(""); got != 6 {
		t.Fatalf("the client saw version %d, want 6", got)
	}
}

func TestPutLatestReplaces(t *testing.T) {
	ch := make(chan int, 1)
	for i := range 10 {
		putLatest(ch, i)
	}
	if got := <-ch; got != 9 {
		t.Fatalf("got %d, want 9", got)
	}
}

func TestCandidatesOrder(t *testing.T) {
	c := &Client{
		addrs:      []string{"a:1", "b:1", "c:1", "d:1"},
		leaderAddr: "b:1",
		down:       map[string]bool{"c:1": true},
		suspect:    map[string]time.Time{},
	}
	for range 4 {
		w := c.candidates(leaderFirst)
		if w[0] != "b:1" || w[3] != "c:1" {
			t.Fatalf("write order %v: want the leader first and the down node last", w)
		}
		r := c.candidates(followersFirst)
		if r[2] != "b:1" || r[3] != "c:1" {
			t.Fatalf("read order %v: want followers, then the leader, then the down node", r)
		}
	}
	c.markFailed("b:1")
	if w := c.candidates(leaderFirst); w[0] == "b:1" || w[2] != "b:1" {
		t.Fatalf("write order %v: want a failed leader after the healthy nodes", w)
	}
	skip := map[string]bool{"a:1": true, "b:1": true, "c:1": true, "d:1": true}
	if addr, ok := c.pick(leaderFirst, skip); !ok || len(skip) != 0 || addr == "" {
		t.Fatalf("pick with every node skipped = %q %v, skip %v; want the first and a cleared skip", addr, ok, skip)
	}
}
