package game

import (
	"fmt"
	"slices"
)

// planJoin plans a Join. Joining twice changes nothing.
func (s *State) planJoin(j Join) (step, error) {
	cur, err := s.lookup("join", j.Room)
	if err != nil {
		return step{}, err
	}
	name, err := NormalizeName(j.Player)
	if err != nil {
		return step{cur: cur}, fmt.Errorf("join room %s: %w", cur.Code, err)
	}
	if cur.playerIndex(name) >= 0 {
		return step{cur: cur}, nil
	}
	if cur.full() {
		return step{cur: cur}, fmt.Errorf("join room %s: %w", cur.Code, ErrRoomFull)
	}
	next := cur.Clone()
	next.addPlayer(name)
	next.bump(j.At)
	return step{cur: cur, next: next}, nil
}

// planLeave plans a Leave. Leaving a room one is not in changes nothing.
// The leaver's request record (Player.LastRequest) goes too.
func (s *State) planLeave(l Leave) (step, error) {
	cur, err := s.lookup("leave", l.Room)
	if err != nil {
		return step{}, err
	}
	name, err := NormalizeName(l.Player)
	if err != nil {
		return step{cur: cur}, fmt.Errorf("leave room %s: %w", cur.Code, err)
	}
	i := cur.playerIndex(name)
	if i < 0 {
		return step{cur: cur}, nil
	}
	next := cur.Clone()
	next.Players = slices.Delete(next.Players, i, i+1)
	next.bump(l.At)
	return step{cur: cur, next: next}, nil
}
