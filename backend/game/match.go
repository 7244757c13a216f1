package game

import "fmt"

// planRematch plans a Rematch. The checks run in this order, as for a
// NextRound: player name and id, the pair against the players of record
// (ErrNameTaken), the player's own Rematch for this match applied before
// (a duplicate), permission (the host only, ErrForbidden), match already
// ended (a duplicate), match not over (ErrMatchNotOver), word, room full
// (for a host who is not a player of record).
func (s *State) planRematch(m Rematch) (step, error) {
	cur, err := s.lookup("rematch", m.Room)
	if err != nil {
		return step{}, err
	}
	fail := func(err error) (step, error) {
		return step{cur: cur}, fmt.Errorf("rematch in room %s: %w", cur.Code, err)
	}
	name, err := identify(m.Player, m.PlayerID)
	if err != nil {
		return fail(err)
	}
	i, err := cur.seat(name, m.PlayerID)
	if err != nil {
		return fail(err)
	}
	// The player's own Rematch of this match, applied before: its first
	// answer, however far the next match has gone since.
	if i >= 0 && m.FromMatch != 0 && cur.Players[i].LastRequest.EndedMatch == m.FromMatch {
		if reply := cur.Players[i].LastRequest.Reply; reply != nil {
			return step{cur: cur, dup: true, reply: reply}, nil
		}
	}
	if m.PlayerID != cur.HostID {
		return fail(fmt.Errorf("%s is not the host, %s: %w", quote(name), quote(cur.Host), ErrForbidden))
	}
	if m.FromMatch != 0 && m.FromMatch != cur.Match {
		switch {
		case m.FromMatch > cur.Match:
			return fail(fmt.Errorf("match %d has not started (the room plays match %d): %w", m.FromMatch, cur.Match, ErrInvalidCommand))
		case m.FromMatch == cur.Match-1 && cur.Round == 1 && cur.RoundStart != nil:
			// The room is in the first round of the match that request
			// began: RoundStart is how it began.
			return step{cur: cur, dup: true, reply: cur.RoundStart}, nil
		}
		return fail(fmt.Errorf("match %d ended before match %d began: %w", m.FromMatch, cur.Match, ErrMatchOver))
	}
	if !cur.MatchOver() {
		if cur.Rounds == 0 {
			return fail(fmt.Errorf("the room plays endless rounds, not matches: %w", ErrMatchNotOver))
		}
		return fail(fmt.Errorf("match %d is in round %d of %d (%s): %w", cur.Match, cur.Round, cur.Rounds, cur.Status, ErrMatchNotOver))
	}
	word, err := NormalizeWord(m.Word)
	if err != nil {
		return fail(err)
	}
	if i < 0 && !cur.hasSeat(m.At) {
		return fail(fmt.Errorf("player %s cannot join: %w", quote(name), ErrRoomFull))
	}

	next := cur.Clone()
	if i < 0 {
		i = next.admit(name, m.PlayerID, m.At)
	}
	next.Players[i].LastActive = m.At
	next.bump(m.At)
	next.Match++
	next.Round = 1
	for j := range next.Players {
		next.Players[j].MatchPoints = 0
	}
	next.startRound(word, m.At)
	if m.FromMatch != 0 {
		next.Players[i].LastRequest = RequestRecord{EndedMatch: m.FromMatch, Version: next.Version, Reply: next.RoundStart}
	}
	return step{cur: cur, next: next}, nil
}

// planExpireTurn plans an ExpireTurn: it applies only to a room with a
// countdown, whose round is played, at the command's version, once the
// turn's deadline has passed (ErrTurnNotOver otherwise, checked in that
// order).
func (s *State) planExpireTurn(e ExpireTurn) (step, error) {
	cur, err := s.lookup("expire turn", e.Room)
	if err != nil {
		return step{}, err
	}
	fail := func(err error) (step, error) {
		return step{cur: cur}, fmt.Errorf("expire turn in room %s: %w", cur.Code, err)
	}
	switch deadline := cur.TurnDeadline(); {
	case cur.TurnSeconds <= 0:
		return fail(fmt.Errorf("the room has no turn countdown: %w", ErrTurnNotOver))
	case cur.Over():
		return fail(fmt.Errorf("round %d is %s: %w", cur.Round, cur.Status, ErrTurnNotOver))
	case e.Version != cur.Version:
		return fail(fmt.Errorf("version %d, but the room is at version %d: %w", e.Version, cur.Version, ErrTurnNotOver))
	case e.At < deadline:
		return fail(fmt.Errorf("the turn runs until %d, %d ms after %d: %w", deadline, deadline-e.At, e.At, ErrTurnNotOver))
	}
	next := cur.successor()
	next.bump(e.At)
	next.TurnStart = e.At
	next.LivesLeft--
	if next.LivesLeft <= 0 {
		next.Status = Lost
	}
	next.Log = append(next.Log, LogEntry{Timeout: true, Version: next.Version})
	return step{cur: cur, next: next}, nil
}
