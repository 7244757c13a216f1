package game

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Player is a player of record in a room.
type Player struct {
	// Name is the player's name as returned by NormalizeName. In a room a
	// name belongs to one player id: the one that took it.
	Name string
	// ID is the player's id: who the player is, as the frontend's session
	// says, while Name is what the player is called. Players restored from
	// snapshots of format 4 and earlier, which had no ids, get "name:" and
	// their name (see LegacyPlayerID).
	ID string
	// Points is the player's score in the room, kept across rounds and
	// matches: it only ever grows, and it is what the scores gossip counts
	// (see the backend's OnRoomChange).
	Points int
	// MatchPoints is the player's score in the current match, what the
	// room shows: a Rematch sets it back to 0.
	MatchPoints int `json:",omitempty"`
	// LastActive is the time, in unix milliseconds from the command, of
	// the player's last command that joined or played in the room: the
	// create, the first join, a guess, a next round or a rematch. A
	// player whose LastActive is more than IdleAfter before a newcomer's
	// command may lose its seat to the newcomer (see MaxPlayersPerRoom).
	LastActive int64 `json:",omitempty"`
	// LastRequest is the player's last successful guess request in this
	// room. It lives and goes with the player of record: the copy of a
	// room made for every change copies it with the players, no map needed.
	LastRequest RequestRecord
}

// earn adds points to the player's score in the room and in the match.
func (p *Player) earn(points int) {
	p.Points += points
	p.MatchPoints += points
}

// LegacyPlayerID is the id given, on restore, to a player of a snapshot
// of format 4 or earlier, which knew players by name only: "name:" and
// the name. It is also the id of commands from log entries written before
// player ids (see the store's codec).
func LegacyPlayerID(name string) string { return "name:" + name }

// NormalizeName trims surrounding white space from a player name and checks
// it: 1 to MaxNameLen runes of valid UTF-8 without control characters.
// Failures wrap ErrInvalidPlayer. Names are compared exactly after trimming.
func NormalizeName(name string) (string, error) {
	n := strings.TrimSpace(name)
	switch {
	case n == "":
		return "", fmt.Errorf("player name is empty: %w", ErrInvalidPlayer)
	case !utf8.ValidString(n):
		return "", fmt.Errorf("player name %s is not valid UTF-8: %w", quote(n), ErrInvalidPlayer)
	case utf8.RuneCountInString(n) > MaxNameLen:
		return "", fmt.Errorf("player name %s is longer than %d runes: %w", quote(n), MaxNameLen, ErrInvalidPlayer)
	case strings.ContainsFunc(n, unicode.IsControl):
		return "", fmt.Errorf("player name %s contains control characters: %w", quote(n), ErrInvalidPlayer)
	}
	return n, nil
}

// checkPlayerID refuses a missing or malformed player id with
// ErrInvalidCommand: every command says which player gives it.
func checkPlayerID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("missing player id: %w", ErrInvalidCommand)
	case len(id) > MaxPlayerIDLen || !utf8.ValidString(id):
		return fmt.Errorf("player id %s: not valid UTF-8 of at most %d bytes: %w", quote(id), MaxPlayerIDLen, ErrInvalidCommand)
	}
	return nil
}

// identify checks a command's player: its name (normalized and returned)
// and its id.
func identify(name, id string) (string, error) {
	n, err := NormalizeName(name)
	if err != nil {
		return "", err
	}
	if err := checkPlayerID(id); err != nil {
		return "", err
	}
	return n, nil
}

// seat returns the index in Players of the player of record that name
// and id (checked by identify) are, or -1 if both are new to the room.
// A pair that matches no record but half of one is refused with
// ErrNameTaken: the name belongs to another id, or the id plays here
// under another name.
func (r *Room) seat(name, id string) (int, error) {
	i, j := r.playerByID(id), r.playerIndex(name)
	switch {
	case i == j:
		return i, nil
	case i >= 0:
		return 0, fmt.Errorf("player %s plays in room %s as %s: %w", quote(name), r.Code, quote(r.Players[i].Name), ErrNameTaken)
	}
	return 0, fmt.Errorf("name %s belongs to another player in room %s: %w", quote(name), r.Code, ErrNameTaken)
}

// playerByID returns the index of the player with the given id in
// Players, or -1. No player has the empty id.
func (r *Room) playerByID(id string) int {
	if id == "" {
		return -1
	}
	return slices.IndexFunc(r.Players, func(p Player) bool { return p.ID == id })
}

// idlest returns the index of the player idle the longest at time at, if
// that player has been idle for more than IdleAfter, else -1. Of players
// idle as long, the one who joined first goes.
func (r *Room) idlest(at int64) int {
	k := -1
	for i, p := range r.Players {
		if at-p.LastActive > IdleAfter.Milliseconds() && (k < 0 || p.LastActive < r.Players[k].LastActive) {
			k = i
		}
	}
	return k
}

// hasSeat reports whether a newcomer fits in the room at time at: it has
// fewer than MaxPlayersPerRoom players, or an idle one to replace.
func (r *Room) hasSeat(at int64) bool {
	return len(r.Players) < MaxPlayersPerRoom || r.idlest(at) >= 0
}

// admit adds a newcomer to r, a room being built, at time at, and returns
// its index. In a full room the idlest player (see idlest) gives up its
// seat; the caller checked hasSeat. A room without a host of record gets
// one (see ensureHost).
func (r *Room) admit(name, id string, at int64) int {
	if len(r.Players) >= MaxPlayersPerRoom {
		if k := r.idlest(at); k >= 0 {
			r.Players = slices.Delete(r.Players, k, k+1)
		}
	}
	r.Players = append(r.Players, Player{Name: name, ID: id, LastActive: at})
	r.ensureHost()
	return len(r.Players) - 1
}

// ensureHost makes the player of record who joined earliest the host if
// the host is no longer one (left, or gave up its seat), so that a room
// with players always has a host among them. An empty room keeps its
// host until someone joins.
func (r *Room) ensureHost() {
	if len(r.Players) > 0 && r.playerByID(r.HostID) < 0 {
		r.Host, r.HostID = r.Players[0].Name, r.Players[0].ID
	}
}
