package chaostest

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// CheckResult is what Check found.
type CheckResult struct {
	// Rooms is the number of rooms every backend holds.
	Rooms int
	// Acked is the number of acknowledged guesses of the rooms' current
	// rounds found in place.
	Acked int
	// Earlier is the number of acknowledged guesses of earlier rounds,
	// which the replicated state keeps only in the version at which the
	// current round began.
	Earlier int
	// Problems lists every violation; empty when all is well.
	Problems []string
}

// Check compares the rooms of every backend with each other and with what
// the players were told: every acknowledged guess of a room's current round
// is in its log, at its place, once (guesses of earlier rounds show in the
// version the round began at); no room holds a guess nobody sent; every
// room is in the round its host last started; every room is one
// whose creation a player saw acknowledged (a creation is retried with its
// request id until it is). Call it while the workload is paused and after
// WaitConverged, so that nothing is in flight.
func Check(ctx context.Context, c *Cluster, rooms []Room) (CheckResult, error) {
	var res CheckResult
	problem := func(format string, args ...any) {
		res.Problems = append(res.Problems, fmt.Sprintf(format, args...))
	}
	var states [Backends]map[string]*pb.Room
	for i := range Backends {
		s, err := c.Rooms(ctx, i)
		if err != nil {
			return res, err
		}
		states[i] = s
	}
	ref := states[0]
	res.Rooms = len(ref)

	// 1. Every backend holds the same rooms in the same state.
	for i := 1; i < Backends; i++ {
		for id, a := range ref {
			b, ok := states[i][id]
			switch {
			case !ok:
				problem("room %s: on %s, missing on %s", id, BackendID(0), BackendID(i))
			case !proto.Equal(a, b):
				problem("room %s differs: %s has version %d (%d log entries), %s has version %d (%d log entries)",
					id, BackendID(0), a.GetVersion(), len(a.GetLog()), BackendID(i), b.GetVersion(), len(b.GetLog()))
			}
		}
		for id := range states[i] {
			if _, ok := ref[id]; !ok {
				problem("room %s: on %s, missing on %s", id, BackendID(i), BackendID(0))
			}
		}
	}

	// 2. Every acknowledged guess is present, in order, once.
	mine := make(map[string]bool, len(rooms))
	for _, r := range rooms {
		mine[r.ID] = true
		got, ok := ref[r.ID]
		if !ok {
			problem("room %s of %s: creation acknowledged, room lost (%d acknowledged guesses)", r.ID, r.Player, len(r.Acked))
			continue
		}
		log := got.GetLog()
		if got.GetRound() != r.Round {
			problem("room %s: round %d, want %d (the rounds its host started, plus one)", r.ID, got.GetRound(), r.Round)
		}
		// The log is the round's; the round began at version r.Start.
		if got.GetVersion() != r.Start+uint64(len(log)) {
			problem("room %s: version %d with %d log entries in round %d begun at version %d, want version %d: a change was applied outside the log, or twice",
				r.ID, got.GetVersion(), len(log), got.GetRound(), r.Start, r.Start+uint64(len(log)))
		}
		seen := map[string]int{}
		for k, e := range log {
			if j, dup := seen[e.GetLetter()]; dup {
				problem("room %s: letter %q applied twice (log entries %d and %d)", r.ID, e.GetLetter(), j, k)
			}
			seen[e.GetLetter()] = k
		}
		// Players finish their request before parking, so every guess sent
		// has been acknowledged by now: the log is exactly the acknowledged ones.
		if len(log) != len(r.Acked) {
			problem("room %s of %s: %d guesses acknowledged, %d in the log (%s)", r.ID, r.Player, len(r.Acked), len(log), letters(log))
		}
		for k, v := range r.Acked {
			if k >= len(log) {
				problem("room %s: acknowledged guess %d (%q, version %d) lost", r.ID, k, r.Order[k], v)
				continue
			}
			e := log[k]
			if e.GetLetter() != string(r.Order[k]) || e.GetPlayer() != r.Player || e.GetVersion() != v {
				problem("room %s: log entry %d is %s/%q at version %d, acknowledged %s/%q at version %d",
					r.ID, k, e.GetPlayer(), e.GetLetter(), e.GetVersion(), r.Player, r.Order[k], v)
			}
		}
		res.Acked += min(len(r.Acked), len(log))
		res.Earlier += r.Earlier
		if len(r.Acked) == len(r.Order) && got.GetStatus() != pb.RoundStatus_ROUND_STATUS_WON {
			problem("room %s: all 26 letters of round %d guessed, status %v", r.ID, r.Round, got.GetStatus())
		}
	}

	// 3. No room was made twice, or by nobody.
	ids := make([]string, 0, len(ref))
	for id := range ref {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if r := ref[id]; !mine[id] {
			problem("room %s (host %s, version %d, log %s): no player was told of its creation",
				id, r.GetHost(), r.GetVersion(), letters(r.GetLog()))
		}
	}
	return res, nil
}

func letters(log []*pb.LogEntry) string {
	var b strings.Builder
	for _, e := range log {
		b.WriteString(e.GetLetter())
	}
	return "[" + b.String() + "]"
}
