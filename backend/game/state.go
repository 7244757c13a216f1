package game

import (
	"maps"
	"slices"
)

// State is the replicated game state: every room, by code. The zero State is
// empty and ready to use. A State is not safe for concurrent use; the Raft
// FSM that owns it serialises access.
type State struct {
	rooms map[string]*Room
	// created finds, by creator id and create request id (createKey), the
	// room each create with a request id made, and its first answer.
	created map[string]creation
}

// NewState returns an empty State.
func NewState() *State {
	return &State{rooms: make(map[string]*Room), created: make(map[string]creation)}
}

// creation is a create with a request id: the code of the room it made
// and its reply, the room as it was made (see Room.asReply). The reply is
// nil for rooms restored from snapshots of format 3 and earlier, which
// did not keep it: a create sent again is then answered with the room as
// it is.
type creation struct {
	code  string
	reply *Room
}

// createKey is the key in State.created of a create by the player id
// creator with request id.
func createKey(creator, requestID string) string { return creator + "\x00" + requestID }

// Room returns a copy of the room with the given code. The lookup ignores
// case and surrounding space.
func (s *State) Room(code string) (*Room, bool) {
	r, ok := s.rooms[NormalizeRoomCode(code)]
	return r.Clone(), ok
}

// Version returns the version of the room with the given code, without
// copying it; false if there is no such room.
func (s *State) Version(code string) (uint64, bool) {
	r, ok := s.rooms[NormalizeRoomCode(code)]
	if !ok {
		return 0, false
	}
	return r.Version, true
}

// Rooms returns copies of every room, sorted by Code.
func (s *State) Rooms() []*Room {
	rooms := s.sorted()
	for i, r := range rooms {
		rooms[i] = r.Clone()
	}
	return rooms
}

// Len returns the number of rooms.
func (s *State) Len() int {
	return len(s.rooms)
}

// sorted returns the stored rooms, not copies, sorted by Code. The result is
// never nil.
func (s *State) sorted() []*Room {
	rooms := make([]*Room, 0, len(s.rooms))
	for _, code := range slices.Sorted(maps.Keys(s.rooms)) {
		rooms = append(rooms, s.rooms[code])
	}
	return rooms
}

// put stores r under its code, replacing any room with that code.
func (s *State) put(r *Room) {
	if s.rooms == nil {
		s.rooms = make(map[string]*Room)
	}
	s.rooms[r.Code] = r
	if r.Version == 1 && r.CreateRequest != "" { // just created
		if s.created == nil {
			s.created = make(map[string]creation)
		}
		s.created[createKey(r.CreatorID, r.CreateRequest)] = creation{code: r.Code, reply: r.asReply()}
	}
}
