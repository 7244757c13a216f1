package scores

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// ErrInvalid reports a write with an empty player id or a page cursor or
// limit out of range.
var ErrInvalid = errors.New("scores: invalid request")

// Delta is a set of player states to merge into a replica: what a write
// changed, sent to the others at once, or what anti-entropy found missing.
type Delta map[string]*Player

// Replica is one node's copy of every player's score. Writes are local
// and return the delta to spread; Merge takes others' deltas. It is safe
// for concurrent use.
type Replica struct {
	node  string
	clock *Clock

	mu      sync.Mutex
	players map[string]*Player
	hashes  map[string]uint64 // per player, of its canonical JSON
	changed func(Delta)
}

// NewReplica returns an empty replica of node, whose writes are stamped
// by clock.
func NewReplica(node string, clock *Clock) *Replica {
	return &Replica{node: node, clock: clock, players: map[string]*Player{}, hashes: map[string]uint64{}}
}

// OnChange calls f with every delta that changed this replica, local
// writes and merges alike (outside the replica's lock).
func (r *Replica) OnChange(f func(Delta)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changed = f
}

func (r *Replica) player(id string) *Player {
	p := r.players[id]
	if p == nil {
		p = &Player{}
		r.players[id] = p
	}
	return p
}

// Set sets a player's score; increments and game points made after it
// (in HLC order) count on top of it.
func (r *Replica) Set(id string, value int64) (Delta, error) {
	if id == "" {
		return nil, fmt.Errorf("%w: empty player id", ErrInvalid)
	}
	at := r.clock.Now()
	r.mu.Lock()
	p := r.player(id)
	base := map[string]int64{}
	for room, e := range p.Games {
		base[room] = e.Points
	}
	p.Set = Register{Value: value, At: at, Base: base}
	d := r.doneLocked(id, &Player{Set: Register{Value: value, At: at, Base: maps.Clone(base)}})
	f := r.changed
	r.mu.Unlock()
	notify(f, d)
	return d, nil
}

// Add adds n to a player's score; concurrent adds on other nodes all count.
func (r *Replica) Add(id string, n int64) (Delta, error) {
	if id == "" {
		return nil, fmt.Errorf("%w: empty player id", ErrInvalid)
	}
	r.mu.Lock()
	p := r.player(id)
	c := p.Adds[r.node]
	if c.Epoch != p.Set.At {
		c = Counter{Epoch: p.Set.At}
	}
	c.Total += n
	if p.Adds == nil {
		p.Adds = map[string]Counter{}
	}
	p.Adds[r.node] = c
	d := r.doneLocked(id, &Player{Adds: map[string]Counter{r.node: c}})
	f := r.changed
	r.mu.Unlock()
	notify(f, d)
	return d, nil
}

// Earn records the game points a player, called name, has earned in a
// room as of the room's version. Every node applying the room's log
// reports the same figures. Only a change of points is news: each command
// of a room reports every player of it, and rewriting the unchanged ones
// would cost a rehash per player per command on the apply path. A report
// repeated, or of an earlier version, changes nothing.
func (r *Replica) Earn(id, name, room string, version uint64, points int64) (Delta, bool) {
	r.mu.Lock()
	p := r.player(id)
	renamed := name != "" && p.Name != name
	if renamed {
		// The clock has observed every NameAt merged here: this one is later.
		p.Name, p.NameAt = name, r.clock.Now()
	}
	mine, ok := p.Games[room]
	if ok && (mine.Points == points || mine.Version >= version) {
		var d Delta
		if renamed {
			d = r.doneLocked(id, &Player{Name: p.Name, NameAt: p.NameAt})
		}
		f := r.changed
		r.mu.Unlock()
		notify(f, d)
		return d, renamed
	}
	e := Earned{Version: version, Points: points}
	if p.Games == nil {
		p.Games = map[string]Earned{}
	}
	p.Games[room] = e
	d := r.doneLocked(id, &Player{Name: p.Name, NameAt: p.NameAt, Games: map[string]Earned{room: e}})
	f := r.changed
	r.mu.Unlock()
	notify(f, d)
	return d, true
}

// doneLocked rehashes player id after a change and returns the delta
// that carries the change: part, the fields that changed (a CRDT merge
// takes partial states), or nil for the whole player.
func (r *Replica) doneLocked(id string, part *Player) Delta {
	p := r.players[id]
	r.hashes[id] = hashPlayer(p)
	if part == nil {
		part = p.clone()
	}
	return Delta{id: part}
}

func notify(f func(Delta), d Delta) {
	if f != nil && len(d) > 0 {
		f(d)
	}
}

// Merge folds d into the replica and returns the part that changed it.
func (r *Replica) Merge(d Delta) Delta {
	for _, p := range d {
		if p != nil {
			r.clock.Observe(p.Set.At)
			r.clock.Observe(p.NameAt)
		}
	}
	r.mu.Lock()
	out := Delta{}
	for id, p := range d {
		if id == "" || p == nil {
			continue
		}
		if r.player(id).merge(p) {
			maps.Copy(out, r.doneLocked(id, p))
		}
	}
	f := r.changed
	r.mu.Unlock()
	notify(f, out)
	return out
}

// Score returns a player's score (0 for an unknown player).
func (r *Replica) Score(id string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p := r.players[id]; p != nil {
		return p.Score()
	}
	return 0
}

// MaxPage is the largest page Scores returns.
const MaxPage = 200

// Scores returns up to limit entries (1 to MaxPage) of the leaderboard,
// highest score first, after the entry named by cursor ("" for the first
// page), and the cursor of the next page ("" on the last).
func (r *Replica) Scores(limit int, cursor string) ([]Entry, string, error) {
	if limit < 1 || limit > MaxPage {
		return nil, "", fmt.Errorf("%w: limit %d: want 1 to %d", ErrInvalid, limit, MaxPage)
	}
	r.mu.Lock()
	all := make([]Entry, 0, len(r.players))
	for id, p := range r.players {
		all = append(all, Entry{PlayerID: id, Name: p.Name, Score: p.Score(), Rooms: len(p.Games)})
	}
	r.mu.Unlock()
	sortEntries(all)
	start := 0
	if cursor != "" {
		after, err := decodeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		start = len(all)
		for i, e := range all {
			if e.Score < after.Score || e.Score == after.Score && e.PlayerID > after.PlayerID {
				start = i
				break
			}
		}
	}
	end := min(start+limit, len(all))
	page := all[start:end]
	next := ""
	if end < len(all) {
		next = encodeCursor(page[len(page)-1])
	}
	return page, next, nil
}

// Digest is a hash of each player's state; two replicas with equal
// digests hold the same state.
type Digest map[string]uint64

// Root is a hash of the whole replica: anti-entropy compares it first.
func (r *Replica) Root() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return rootOf(r.hashes)
}

func rootOf(hashes map[string]uint64) uint64 {
	h := fnv.New64a()
	for _, id := range slices.Sorted(maps.Keys(hashes)) {
		fmt.Fprintf(h, "%s\x00%x\x00", id, hashes[id])
	}
	return h.Sum64()
}

// Digest returns the hash of every player's state.
func (r *Replica) Digest() Digest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.hashes)
}

// Diff returns this replica's states of the players whose hash differs
// from (or is missing in) d, and the ids d has that this replica lacks or
// holds differently: what each side must send the other.
func (r *Replica) Diff(d Digest) (mine Delta, theirs []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	mine = Delta{}
	for id, h := range r.hashes {
		if d[id] != h {
			mine[id] = r.players[id].clone()
		}
	}
	for id, h := range d {
		if r.hashes[id] != h {
			theirs = append(theirs, id)
		}
	}
	slices.Sort(theirs)
	return mine, theirs
}

// Get returns this replica's states of the given players (unknown ones
// are left out).
func (r *Replica) Get(ids []string) Delta {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := Delta{}
	for _, id := range ids {
		if p := r.players[id]; p != nil {
			out[id] = p.clone()
		}
	}
	return out
}

// file is the replica as saved.
type file struct {
	Players map[string]*Player `json:"players"`
}

// Save writes the replica to path atomically (write, sync, rename).
func (r *Replica) Save(path string) error {
	r.mu.Lock()
	data, err := json.Marshal(file{Players: r.players})
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("scores: encode: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("scores: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("scores: save: %w", err)
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("scores: save %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("scores: save: %w", err)
	}
	return nil
}

// Load merges the replica saved at path, if any, into r.
func (r *Replica) Load(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("scores: load: %w", err)
	}
	var f file
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("scores: load %s: %w", path, err)
	}
	r.Merge(f.Players)
	return nil
}

func hashPlayer(p *Player) uint64 {
	b, _ := json.Marshal(p) // maps marshal with sorted keys: canonical
	h := fnv.New64a()
	_, _ = h.Write(b)
	return h.Sum64()
}
