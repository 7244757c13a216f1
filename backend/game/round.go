package game

import "fmt"

// planNextRound plans a NextRound. The checks run in this order: player
// name, round already ended (a duplicate), permission, word, room full (for
// a new player).
func (s *State) planNextRound(n NextRound) (step, error) {
	cur, err := s.lookup("next round", n.Room)
	if err != nil {
		return step{}, err
	}
	fail := func(err error) (step, error) {
		return step{cur: cur}, fmt.Errorf("next round in room %s: %w", cur.Code, err)
	}
	name, err := NormalizeName(n.Player)
	if err != nil {
		return fail(err)
	}
	// The player's own NextRound for this round, applied before: its
	// first answer, however many rounds have passed since.
	if i := cur.playerIndex(name); i >= 0 && n.FromRound != 0 && cur.Players[i].LastRequest.EndedRound == n.FromRound {
		if reply := cur.Players[i].LastRequest.Reply; reply != nil {
			return step{cur: cur, dup: true, reply: reply}, nil
		}
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
	if !cur.Over() && name != cur.Host {
		return fail(fmt.Errorf("round %d is still playing and %s is not the host: %w", cur.Round, quote(name), ErrRoundNotOver))
	}
	word, err := NormalizeWord(n.Word)
	if err != nil {
		return fail(err)
	}
	known := cur.playerIndex(name) >= 0
	if !known && cur.full() {
		return fail(fmt.Errorf("player %s cannot join: %w", quote(name), ErrRoomFull))
	}

	next := cur.Clone()
	i := next.playerIndex(name)
	if !known {
		i = next.addPlayer(name)
	}
	next.bump(n.At)
	next.Round++
	next.Word = word
	next.Guessed, next.Wrong, next.Log = nil, nil, nil
	next.LivesLeft = next.MaxLives
	next.Status = Playing
	next.RoundStart = next.asReply()
	if n.FromRound != 0 {
		next.Players[i].LastRequest = RequestRecord{EndedRound: n.FromRound, Version: next.Version, Reply: next.RoundStart}
	}
	return step{cur: cur, next: next}, nil
}
