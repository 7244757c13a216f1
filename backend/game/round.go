package game

import "fmt"

// planNextRound plans a NextRound. The checks run in this order: player
// name and id, the pair against the players of record (ErrNameTaken), the
// player's own NextRound for this round applied before (a duplicate),
// permission (the host only, ErrForbidden), round already ended (a
// duplicate), the match's last round (ErrMatchOver once it is over,
// ErrLastRound while it is played), word, room full (for a host who is not
// a player of record).
func (s *State) planNextRound(n NextRound) (step, error) {
	cur, err := s.lookup("next round", n.Room)
	if err != nil {
		return step{}, err
	}
	fail := func(err error) (step, error) {
		return step{cur: cur}, fmt.Errorf("next round in room %s: %w", cur.Code, err)
	}
	name, err := identify(n.Player, n.PlayerID)
	if err != nil {
		return fail(err)
	}
	i, err := cur.seat(name, n.PlayerID)
	if err != nil {
		return fail(err)
	}
	// The player's own NextRound for this round, applied before: its
	// first answer, however many rounds have passed since.
	if rec := recordOf(cur, i); n.FromRound != 0 && rec.EndedRound == n.FromRound && (n.FromMatch == 0 || rec.InMatch == 0 || rec.InMatch == n.FromMatch) {
		if reply := rec.Reply; reply != nil {
			return step{cur: cur, dup: true, reply: reply}, nil
		}
	}
	if n.PlayerID != cur.HostID {
		return fail(fmt.Errorf("%s is not the host, %s: %w", quote(name), quote(cur.Host), ErrForbidden))
	}
	if n.FromMatch != 0 && n.FromMatch != cur.Match {
		if n.FromMatch > cur.Match {
			return fail(fmt.Errorf("match %d has not started (the room plays match %d): %w", n.FromMatch, cur.Match, ErrInvalidCommand))
		}
		return fail(fmt.Errorf("round %d of match %d ended before match %d began: %w", n.FromRound, n.FromMatch, cur.Match, ErrRoundOver))
	}
	if n.FromRound != 0 && n.FromRound != cur.Round {
		switch {
		case n.FromRound > cur.Round:
			return fail(fmt.Errorf("round %d has not started (the room is in round %d): %w", n.FromRound, cur.Round, ErrInvalidCommand))
		case n.FromRound == cur.Round-1 && cur.RoundStart != nil:
			return step{cur: cur, dup: true, reply: cur.RoundStart}, nil
		}
		return fail(fmt.Errorf("round %d ended before round %d began: %w", n.FromRound, cur.Round, ErrRoundOver))
	}
	if cur.Rounds > 0 && cur.Round >= cur.Rounds {
		if cur.Over() {
			return fail(fmt.Errorf("match %d ended with round %d: %w", cur.Match, cur.Round, ErrMatchOver))
		}
		return fail(fmt.Errorf("round %d is the last of match %d: %w", cur.Round, cur.Match, ErrLastRound))
	}
	word, err := NormalizeWord(n.Word)
	if err != nil {
		return fail(err)
	}
	if i < 0 && !cur.hasSeat(n.At) {
		return fail(fmt.Errorf("player %s cannot join: %w", quote(name), ErrRoomFull))
	}

	next := cur.Clone()
	if i < 0 {
		i = next.admit(name, n.PlayerID, n.At)
	}
	next.Players[i].LastActive = n.At
	next.bump(n.At)
	next.Round++
	next.startRound(word, n.At)
	if n.FromRound != 0 {
		next.Players[i].LastRequest = RequestRecord{EndedRound: n.FromRound, InMatch: n.FromMatch, Version: next.Version, Reply: next.RoundStart}
	}
	return step{cur: cur, next: next}, nil
}

// startRound starts a round of r, a room being built, with word at time
// at: no letters guessed, every life back, the turn countdown from at,
// and the room as it begins remembered as the round's first answer
// (RoundStart).
func (r *Room) startRound(word string, at int64) {
	r.Word = word
	r.Guessed, r.Wrong, r.Log = nil, nil, nil
	r.LivesLeft = r.MaxLives
	r.Status = Playing
	r.TurnStart = at
	r.RoundStart = r.asReply()
}

// recordOf is the request record of the player at index i of r's
// players, or a zero record for i < 0 (a player not of record).
func recordOf(r *Room, i int) RequestRecord {
	if i < 0 {
		return RequestRecord{}
	}
	return r.Players[i].LastRequest
}
