package scores

import (
	"cmp"
	"maps"
	"slices"
)

// Register is a score set by hand: last writer wins, by HLC. Base holds
// the game points the player had earned in each room when it was set, so
// that only points earned since count on top of Value.
type Register struct {
	Value int64            `json:"v"`
	At    Timestamp        `json:"at"`
	Base  map[string]int64 `json:"base,omitempty"`
}

// Counter is one node's increments of a player's score since the set of
// Epoch (the zero Timestamp: since the start).
type Counter struct {
	Epoch Timestamp `json:"epoch"`
	Total int64     `json:"total"`
}

// Earned is the game points a player has earned in one room as of the
// room's Raft version: every node that applies the room's log computes
// the same figure for the same version, so reports merge by version.
type Earned struct {
	Version uint64 `json:"version"`
	Points  int64  `json:"points"`
}

// Player is the replicated score of one player.
type Player struct {
	// Name is what the player is called, last writer wins by NameAt.
	Name   string             `json:"name,omitempty"`
	NameAt Timestamp          `json:"name_at"`
	Set    Register           `json:"set"`
	Adds   map[string]Counter `json:"adds,omitempty"`
	Games  map[string]Earned  `json:"games,omitempty"`
}

// Score is the player's score: the set value, the increments made since
// it was set, and the game points earned since.
func (p *Player) Score() int64 {
	s := p.Set.Value
	for _, c := range p.Adds {
		if c.Epoch == p.Set.At {
			s += c.Total
		}
	}
	for room, e := range p.Games {
		if d := e.Points - p.Set.Base[room]; d > 0 {
			s += d
		}
	}
	return s
}

// merge folds o into p; it is commutative, associative and idempotent.
// It reports whether p changed.
func (p *Player) merge(o *Player) bool {
	changed := false
	if o.NameAt.Compare(p.NameAt) > 0 {
		p.Name, p.NameAt = o.Name, o.NameAt
		changed = true
	}
	if o.Set.At.Compare(p.Set.At) > 0 {
		p.Set = Register{Value: o.Set.Value, At: o.Set.At, Base: maps.Clone(o.Set.Base)}
		changed = true
	}
	for node, c := range o.Adds {
		if mine, ok := p.Adds[node]; !ok || counterLess(mine, c) {
			if p.Adds == nil {
				p.Adds = map[string]Counter{}
			}
			p.Adds[node] = c
			changed = true
		}
	}
	for room, e := range o.Games {
		if mine, ok := p.Games[room]; !ok || earnedLess(mine, e) {
			if p.Games == nil {
				p.Games = map[string]Earned{}
			}
			p.Games[room] = e
			changed = true
		}
	}
	return changed
}

// counterLess orders one node's counters: a later epoch wins, and within
// an epoch the larger total (a node's own counter only grows).
func counterLess(a, b Counter) bool {
	if c := a.Epoch.Compare(b.Epoch); c != 0 {
		return c < 0
	}
	return a.Total < b.Total
}

// earnedLess orders reports of one room: the later version wins; the same
// version always carries the same points (ties broken by points so the
// merge stays deterministic even if it did not).
func earnedLess(a, b Earned) bool {
	if a.Version != b.Version {
		return a.Version < b.Version
	}
	return a.Points < b.Points
}

func (p *Player) clone() *Player {
	return &Player{
		Name: p.Name, NameAt: p.NameAt,
		Set:   Register{Value: p.Set.Value, At: p.Set.At, Base: maps.Clone(p.Set.Base)},
		Adds:  maps.Clone(p.Adds),
		Games: maps.Clone(p.Games),
	}
}

// Entry is one player's score, as listed.
type Entry struct {
	PlayerID string `json:"player_id"`
	Name     string `json:"name,omitempty"`
	Score    int64  `json:"score"`
	// Rooms is how many rooms the player has earned points in.
	Rooms int `json:"rooms,omitempty"`
}

// sortEntries orders a leaderboard: highest score first, then player id.
func sortEntries(es []Entry) {
	slices.SortFunc(es, func(a, b Entry) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.PlayerID, b.PlayerID)
	})
}
