package scores

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"
)

func replicas(n int, wall func(i int) func() time.Time) []*Replica {
	out := make([]*Replica, n)
	for i := range out {
		id := fmt.Sprintf("b%d", i+1)
		var w func() time.Time
		if wall != nil {
			w = wall(i)
		}
		out[i] = NewReplica(id, NewClock(id, w))
	}
	return out
}

// exchange runs full anti-entropy between every pair, both ways.
func exchange(rs []*Replica) {
	for _, a := range rs {
		for _, b := range rs {
			if a != b {
				mine, theirs := b.Diff(a.Digest())
				a.Merge(mine)
				b.Merge(a.Get(theirs))
			}
		}
	}
}

func converged(t *testing.T, rs []*Replica) {
	t.Helper()
	for _, r := range rs[1:] {
		if r.Root() != rs[0].Root() {
			t.Fatalf("%s and %s differ:\n%v\n%v", rs[0].node, r.node, rs[0].Digest(), r.Digest())
		}
	}
}

func TestConcurrentAddsAllCount(t *testing.T) {
	rs := replicas(5, nil)
	var want int64
	for i, r := range rs {
		for j := range 10 {
			n := int64(i*10 + j)
			if _, err := r.Add("ana", n); err != nil {
				t.Fatal(err)
			}
			want += n
		}
	}
	exchange(rs)
	converged(t, rs)
	for _, r := range rs {
		if got := r.Score("ana"); got != want {
			t.Errorf("%s: score %d, want %d", r.node, got, want)
		}
	}
}

// Deltas delivered in any order, any number of times, give one state.
func TestDeltasInAnyOrderConverge(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	rs := replicas(5, nil)
	var deltas []Delta
	want := map[string]int64{}
	for range 300 {
		r := rs[rng.IntN(len(rs))]
		player := fmt.Sprintf("p%d", rng.IntN(7))
		n := int64(rng.IntN(20))
		d, err := r.Add(player, n)
		if err != nil {
			t.Fatal(err)
		}
		want[player] += n
		deltas = append(deltas, d)
	}
	for _, r := range rs {
		for range 2 {
			for _, i := range rng.Perm(len(deltas)) {
				r.Merge(deltas[i])
			}
		}
	}
	converged(t, rs)
	for player, n := range want {
		if got := rs[0].Score(player); got != n {
			t.Errorf("%s: score %d, want %d", player, got, n)
		}
	}
}

// A node whose clock runs an hour ahead sets a score; a node with a
// right clock that has seen it sets another: the later write wins on
// every node, though its wall clock reads an hour earlier.
func TestLaterWriteBeatsFastClock(t *testing.T) {
	now := time.Now()
	rs := replicas(3, func(i int) func() time.Time {
		if i == 0 {
			return func() time.Time { return now.Add(time.Hour) }
		}
		return func() time.Time { return now }
	})
	fast, right := rs[0], rs[1]
	d, err := fast.Set("ana", 100)
	if err != nil {
		t.Fatal(err)
	}
	right.Merge(d)
	if _, err := right.Set("ana", 7); err != nil {
		t.Fatal(err)
	}
	exchange(rs)
	converged(t, rs)
	for _, r := range rs {
		if got := r.Score("ana"); got != 7 {
			t.Errorf("%s: score %d, want the later write's 7", r.node, got)
		}
	}
}

// Game points reported by every node, repeatedly, and out of order, count
// once: the report of the latest version of a room wins.
func TestGamePointsCountOnce(t *testing.T) {
	rs := replicas(3, nil)
	for _, r := range rs {
		for _, v := range []uint64{5, 9, 7, 9} {
			r.Earn("ana", "ana", "ROOMA", v, int64(v)*10)
		}
		r.Earn("ana", "ana", "ROOMB", 3, 50)
	}
	exchange(rs)
	converged(t, rs)
	if got := rs[2].Score("ana"); got != 90+50 {
		t.Errorf("score %d, want 140", got)
	}
	// A set counts game points earned after it only.
	if _, err := rs[0].Set("ana", 1000); err != nil {
		t.Fatal(err)
	}
	rs[1].Earn("ana", "ana", "ROOMA", 12, 120)
	exchange(rs)
	converged(t, rs)
	if got := rs[1].Score("ana"); got != 1000+30 {
		t.Errorf("score after set %d, want 1030", got)
	}
}

// A room's later versions that leave a player's points as they were are
// no news: nothing is rewritten or rehashed.
func TestEarnOnlyChangedPoints(t *testing.T) {
	r := replicas(1, nil)[0]
	if _, news := r.Earn("ana", "ana", "ROOMA", 3, 10); !news {
		t.Fatal("first points are news")
	}
	root := r.Root()
	for v := uint64(4); v < 10; v++ {
		if _, news := r.Earn("ana", "ana", "ROOMA", v, 10); news {
			t.Fatalf("version %d with the same points was news", v)
		}
	}
	if r.Root() != root {
		t.Error("unchanged points changed the replica")
	}
	if _, news := r.Earn("ana", "ana", "ROOMA", 12, 20); !news || r.Score("ana") != 20 {
		t.Errorf("new points: news %v, score %d, want 20", news, r.Score("ana"))
	}
	if _, news := r.Earn("ana", "ana", "ROOMA", 11, 15); news || r.Score("ana") != 20 {
		t.Errorf("an earlier version was taken: score %d", r.Score("ana"))
	}
}

func TestSaveLoad(t *testing.T) {
	rs := replicas(1, nil)
	if _, err := rs[0].Add("ana", 4); err != nil {
		t.Fatal(err)
	}
	rs[0].Earn("bo", "bo", "ROOMA", 3, 20)
	path := filepath.Join(t.TempDir(), "scores.json")
	if err := rs[0].Save(path); err != nil {
		t.Fatal(err)
	}
	again := replicas(1, nil)[0]
	if err := again.Load(path); err != nil {
		t.Fatal(err)
	}
	if again.Root() != rs[0].Root() || again.Score("ana") != 4 || again.Score("bo") != 20 {
		t.Errorf("loaded replica differs: ana %d bo %d", again.Score("ana"), again.Score("bo"))
	}
}

func TestScoresPages(t *testing.T) {
	r := replicas(1, nil)[0]
	for i := range 25 {
		if _, err := r.Set(fmt.Sprintf("p%02d", i), int64(i%5)); err != nil {
			t.Fatal(err)
		}
	}
	var got []Entry
	cursor := ""
	for {
		page, next, err := r.Scores(7, cursor)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(got) != 25 {
		t.Fatalf("%d entries over the pages, want 25", len(got))
	}
	for i := 1; i < len(got); i++ {
		a, b := got[i-1], got[i]
		if a.Score < b.Score || a.Score == b.Score && a.PlayerID >= b.PlayerID {
			t.Fatalf("entries %d and %d out of order: %v %v", i-1, i, a, b)
		}
	}
	for _, tc := range []struct {
		limit  int
		cursor string
	}{{0, ""}, {MaxPage + 1, ""}, {10, "!!"}} {
		if _, _, err := r.Scores(tc.limit, tc.cursor); err == nil {
			t.Errorf("Scores(%d, %q) accepted", tc.limit, tc.cursor)
		}
	}
}
