package game

import (
	"fmt"
	"slices"
	"testing"
)

func TestRoomsPage(t *testing.T) {
	s := NewState()
	var all []string
	for i := range 30 {
		code := fmt.Sprintf("R%04d", (i*7)%30) // put out of order
		r := &Room{Code: code, Round: 1}
		if i%3 == 0 {
			r.Status = Won
		}
		s.rooms[code] = r
		all = append(all, code)
	}
	slices.Sort(all)
	codes := func(rooms []*Room) []string {
		var out []string
		for _, r := range rooms {
			out = append(out, r.Code)
		}
		return out
	}
	playing := func(r *Room) bool { return r.Status == Playing }
	var allPlaying []string
	for _, c := range all {
		if s.rooms[c].Status == Playing {
			allPlaying = append(allPlaying, c)
		}
	}

	tests := []struct {
		name  string
		limit int
		keep  func(*Room) bool
		want  []string
	}{
		{"pages of 7", 7, nil, all},
		{"pages of 1", 1, nil, all},
		{"one page exactly", 30, nil, all},
		{"bigger than all", 100, nil, all},
		{"everything at once", 0, nil, all},
		{"playing, pages of 4", 4, playing, allPlaying},
		{"playing, at once", 0, playing, allPlaying},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			after := ""
			for pages := 0; ; pages++ {
				if pages > len(all) {
					t.Fatal("paging does not end")
				}
				rooms, more := s.RoomsPage(after, tt.limit, tt.keep)
				if tt.limit > 0 && len(rooms) > tt.limit {
					t.Fatalf("page of %d rooms, limit %d", len(rooms), tt.limit)
				}
				got = append(got, codes(rooms)...)
				if !more {
					break
				}
				if len(rooms) == 0 {
					t.Fatal("an empty page with more after it")
				}
				after = rooms[len(rooms)-1].Code
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("pages gave %v, want %v", got, tt.want)
			}
		})
	}

	// A page holds copies: changing one leaves the state alone.
	rooms, _ := s.RoomsPage("", 1, nil)
	rooms[0].Round = 99
	if s.rooms[rooms[0].Code].Round == 99 {
		t.Error("RoomsPage returned the stored room, not a copy")
	}
	// A cursor between codes, or past the last, works as a bound.
	if rooms, more := s.RoomsPage("R0010x", 2, nil); !slices.Equal(codes(rooms), []string{"R0011", "R0012"}) || !more {
		t.Errorf("after R0010x: %v, more=%v", codes(rooms), more)
	}
	if rooms, more := s.RoomsPage("ZZZZZ", 5, nil); len(rooms) != 0 || more {
		t.Errorf("after the last: %v, more=%v", codes(rooms), more)
	}
}
