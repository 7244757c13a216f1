package game

import "fmt"

// step is the planned effect of one command. Planning never changes the
// State, so Apply and Validate share it and agree by construction.
type step struct {
	cur  *Room // the stored room the command names, nil if there is none
	next *Room // the room to store in its place, nil when nothing changes
	hit  bool  // Guess: the letter is in the word
	dup  bool  // Guess, CreateRoom, NextRound, Rematch: the request was already applied
	// reply, for a duplicate, is the room its first application answered
	// with; nil means cur.
	reply *Room
}

// Apply applies cmd to the state. On error nothing changes: no version bump,
// no request record, nothing; the Result then holds only the unchanged room,
// if it exists.
func (s *State) Apply(cmd Command) (Result, error) {
	st, err := s.plan(cmd)
	if err != nil {
		return Result{Room: st.cur}, err
	}
	res := Result{Hit: st.hit, Duplicate: st.dup}
	if st.next == nil {
		res.Room = st.cur
		if st.reply != nil {
			res.Room = st.reply
		}
		return res, nil
	}
	s.put(st.next)
	res.Room, res.Changed = st.next, true
	return res, nil
}

// Validate returns exactly the error Apply would return for cmd, without
// changing anything. A Guess, the most frequent command, is only checked:
// the room it would produce is not built.
func (s *State) Validate(cmd Command) error {
	switch g := cmd.(type) {
	case Guess:
		_, err := s.checkGuess(g)
		return err
	case *Guess:
		if g != nil {
			_, err := s.checkGuess(*g)
			return err
		}
	}
	_, err := s.plan(cmd)
	return err
}

// plan works out what cmd would do to the state.
func (s *State) plan(cmd Command) (step, error) {
	switch c := cmd.(type) {
	case CreateRoom:
		return s.planCreate(c)
	case *CreateRoom:
		if c != nil {
			return s.planCreate(*c)
		}
	case Guess:
		return s.planGuess(c)
	case *Guess:
		if c != nil {
			return s.planGuess(*c)
		}
	case NextRound:
		return s.planNextRound(c)
	case *NextRound:
		if c != nil {
			return s.planNextRound(*c)
		}
	case Rematch:
		return s.planRematch(c)
	case *Rematch:
		if c != nil {
			return s.planRematch(*c)
		}
	case ExpireTurn:
		return s.planExpireTurn(c)
	case *ExpireTurn:
		if c != nil {
			return s.planExpireTurn(*c)
		}
	case Join:
		return s.planJoin(c)
	case *Join:
		if c != nil {
			return s.planJoin(*c)
		}
	case Leave:
		return s.planLeave(c)
	case *Leave:
		if c != nil {
			return s.planLeave(*c)
		}
	case nil:
		return step{}, fmt.Errorf("nil command: %w", ErrInvalidCommand)
	}
	return step{}, fmt.Errorf("command of type %T: %w", cmd, ErrInvalidCommand)
}

// lookup returns the stored room a command of kind op names by code.
func (s *State) lookup(op, code string) (*Room, error) {
	c := NormalizeRoomCode(code)
	if c == "" {
		return nil, fmt.Errorf("%s: missing room code: %w", op, ErrInvalidCommand)
	}
	r, ok := s.rooms[c]
	if !ok {
		return nil, fmt.Errorf("%s: room %s: %w", op, quote(c), ErrUnknownRoom)
	}
	return r, nil
}
