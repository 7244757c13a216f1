package game

import (
	"container/heap"
	"slices"
	"strings"
)

// RoomsPage returns copies of up to limit rooms kept by keep (nil keeps
// every room), those whose codes come first after the code after ("":
// from the first), sorted by Code; more reports that further rooms are
// kept after the last one returned. A limit of 0 or less returns every
// kept room after after. It copies only the rooms it returns and keeps
// no more than limit+1 codes at a time, so a small page of many rooms is
// cheap.
func (s *State) RoomsPage(after string, limit int, keep func(*Room) bool) (rooms []*Room, more bool) {
	var codes []string
	if limit <= 0 {
		for code, r := range s.rooms {
			if code > after && (keep == nil || keep(r)) {
				codes = append(codes, code)
			}
		}
		slices.Sort(codes)
	} else {
		// The limit+1 smallest codes after after, in a max-heap: a code
		// smaller than the largest kept replaces it.
		h := make(codeHeap, 0, limit+1)
		for code, r := range s.rooms {
			if code <= after || (len(h) == limit+1 && code >= h[0]) || (keep != nil && !keep(r)) {
				continue
			}
			if len(h) < limit+1 {
				heap.Push(&h, code)
			} else {
				h[0] = code
				heap.Fix(&h, 0)
			}
		}
		codes = []string(h)
		slices.Sort(codes)
		if len(codes) > limit {
			codes, more = codes[:limit], true
		}
	}
	rooms = make([]*Room, len(codes))
	for i, code := range codes {
		rooms[i] = s.rooms[code].Clone()
	}
	return rooms, more
}

// codeHeap is a max-heap of room codes (container/heap).
type codeHeap []string

func (h codeHeap) Len() int           { return len(h) }
func (h codeHeap) Less(i, j int) bool { return strings.Compare(h[i], h[j]) > 0 }
func (h codeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *codeHeap) Push(x any)        { *h = append(*h, x.(string)) }
func (h *codeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
