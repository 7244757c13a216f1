package game

import (
	"fmt"
	"slices"
)

// planJoin plans a Join. Joining again under the same name changes
// nothing; the checks run in this order: player name and id, the pair
// against the players of record (ErrNameTaken), room full.
func (s *State) planJoin(j Join) (step, error) {
	cur, err := s.lookup("join", j.Room)
	if err != nil {
		return step{}, err
	}
	fail := func(err error) (step, error) {
		return step{cur: cur}, fmt.Errorf("join room %s: %w", cur.Code, err)
	}
	name, err := identify(j.Player, j.PlayerID)
	if err != nil {
		return fail(err)
	}
	i, err := cur.seat(name, j.PlayerID)
	switch {
	case err != nil:
		return fail(err)
	case i >= 0:
		return step{cur: cur}, nil
	case !cur.hasSeat(j.At):
		return fail(ErrRoomFull)
	}
	next := cur.Clone()
	next.admit(name, j.PlayerID, j.At)
	next.bump(j.At)
	return step{cur: cur, next: next}, nil
}

// planLeave plans a Leave: the player of record with the command's player
// id goes, with its request record (Player.LastRequest); if it hosted the
// room, the player of record who joined earliest becomes host. Leaving a
// room one is not in changes nothing.
func (s *State) planLeave(l Leave) (step, error) {
	cur, err := s.lookup("leave", l.Room)
	if err != nil {
		return step{}, err
	}
	if err := checkPlayerID(l.PlayerID); err != nil {
		return step{cur: cur}, fmt.Errorf("leave room %s: %w", cur.Code, err)
	}
	i := cur.playerByID(l.PlayerID)
	if i < 0 {
		return step{cur: cur}, nil
	}
	next := cur.Clone()
	next.Players = slices.Delete(next.Players, i, i+1)
	next.ensureHost()
	next.bump(l.At)
	return step{cur: cur, next: next}, nil
}
