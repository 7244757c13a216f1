package history

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// base is time 0 of the hand-written histories; times are in milliseconds.
var base = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func ms(n int) time.Time { return base.Add(time.Duration(n) * time.Millisecond) }

// st builds a State; letters are the guessed letters, one byte each.
func st(version uint64, round int64, status, letters string) State {
	s := State{Version: version, Round: round, Status: status}
	for _, c := range letters {
		s.Guessed = append(s.Guessed, string(c))
	}
	return s
}

const room = "r1"

func guessOp(player, letter, rid string, call, ret int) Op {
	return Op{Client: player, Room: room, Kind: Guess, Player: player, Letter: letter, RequestID: rid, Call: ms(call), Return: ms(ret)}
}

func getOp(client string, call, ret int) Op {
	return Op{Client: client, Room: room, Kind: Get, Player: client, Call: ms(call), Return: ms(ret)}
}

func nextOp(player string, round int64, host bool, call, ret int) Op {
	return Op{Client: player, Room: room, Kind: NextRound, Player: player, Round: round, Host: host, Call: ms(call), Return: ms(ret)}
}

func ok(o Op, s State) Op {
	o.Outcome, o.Reply = OK, s
	return o
}

func hit(o Op, s State) Op {
	o = ok(o, s)
	o.Hit = true
	return o
}

func failed(o Op, code string) Op {
	o.Outcome, o.Code = Fail, code
	return o
}

func unknown(o Op) Op {
	o.Outcome = Unknown
	return o
}

func resend(o Op) Op {
	o.Resend = true
	return o
}

func inRound(o Op, round int64) Op {
	o.Round = round
	return o
}

func ev(client, stream string, at int, s State) Event {
	return Event{Client: client, Stream: stream, Room: room, At: ms(at), State: s}
}

// want is what a history's report must show. Counts are exact.
type want struct {
	lin                              LinResult
	backwards, conflicts, gaps, lost int
	unchecked                        int // -1: any
	pass                             bool
}

func TestCheck(t *testing.T) {
	const P, W, L = StatusPlaying, StatusWon, StatusLost
	tests := []struct {
		name   string
		ops    []Op
		events []Event
		want   want
	}{
		{
			name: "sequential history passes",
			ops: []Op{
				failed(getOp("cy", 0, 1), "not_found"), // before the room was seen
				hit(guessOp("ana", "a", "1", 2, 3), st(2, 1, P, "a")),
				ok(guessOp("bo", "b", "1", 4, 5), st(3, 1, P, "ab")),
				ok(getOp("ana", 6, 7), st(3, 1, P, "ab")),
				failed(guessOp("bo", "a", "2", 8, 9), "already_guessed"),
				failed(guessOp("bo", "7", "3", 10, 11), "invalid_letter"),
				hit(guessOp("ana", " C ", "2", 12, 13), st(4, 1, W, "abc")), // the game folds letters
				failed(guessOp("bo", "d", "4", 14, 15), "round_over"),
				ok(nextOp("bo", 1, true, 16, 17), st(5, 2, P, "")),
				ok(nextOp("ana", 1, true, 18, 19), st(5, 2, P, "")), // second to click: the round's start
				failed(inRound(guessOp("ana", "e", "3", 20, 21), 1), "round_over"),
				failed(inRound(guessOp("ana", "e", "4", 22, 23), 3), "bad_request"),
				ok(guessOp("ana", "e", "5", 24, 25), st(6, 2, P, "e")),
				ok(getOp("cy", 26, 27), st(6, 2, P, "e")),
			},
			want: want{lin: LinOK, pass: true},
		},
		{
			name: "concurrent history with overlaps passes",
			ops: []Op{
				hit(guessOp("ana", "a", "1", 0, 10), st(3, 1, P, "ba")),
				ok(guessOp("bo", "b", "1", 2, 8), st(2, 1, P, "b")),
				ok(getOp("cy", 1, 9), st(2, 1, P, "b")),
				ok(getOp("dee", 3, 12), st(3, 1, P, "ba")),
				failed(guessOp("cy", "b", "1", 9, 11), "already_guessed"),
				ok(getOp("cy", 13, 14), st(3, 1, P, "ba")),
			},
			want: want{lin: LinOK, pass: true},
		},
		{
			name: "stale read fails",
			ops: []Op{
				hit(guessOp("ana", "a", "1", 0, 1), st(2, 1, P, "a")),
				ok(getOp("bo", 2, 3), st(1, 1, P, "")),
			},
			// The last read misses the acknowledged guess, too.
			want: want{lin: LinIllegal, lost: 1},
		},
		{
			name: "backwards read of one client is counted",
			ops: []Op{
				hit(guessOp("ana", "a", "1", 0, 1), st(2, 1, P, "a")),
				ok(getOp("ana", 2, 3), st(1, 1, P, "")),
				ok(getOp("cy", 4, 5), st(2, 1, P, "a")),
			},
			want: want{lin: LinIllegal, backwards: 1},
		},
		{
			name: "resend answered with the room as it is now fails",
			ops: []Op{
				hit(guessOp("ana", "a", "dup-1", 0, 1), st(2, 1, P, "a")),
				ok(guessOp("bo", "z", "1", 2, 3), st(3, 1, P, "az")),
				hit(resend(guessOp("ana", "a", "dup-1", 4, 5)), st(3, 1, P, "az")),
				ok(getOp("cy", 6, 7), st(3, 1, P, "az")),
			},
			// dup-1 answered twice differently; v3 acknowledged to two requests.
			want: want{lin: LinIllegal, conflicts: 2},
		},
		{
			name: "resend answered with its first answer passes",
			ops: []Op{
				hit(guessOp("ana", "a", "dup-1", 0, 1), st(2, 1, P, "a")),
				ok(guessOp("bo", "z", "1", 2, 3), st(3, 1, P, "az")),
				hit(resend(guessOp("ana", "a", "dup-1", 4, 5)), st(2, 1, P, "a")),
				ok(getOp("cy", 6, 7), st(3, 1, P, "az")),
			},
			want: want{lin: LinOK, pass: true},
		},
		{
			name: "resend with another hit than the first answer fails",
			ops: []Op{
				hit(guessOp("ana", "a", "dup-1", 0, 1), st(2, 1, P, "a")),
				ok(resend(guessOp("ana", "a", "dup-1", 4, 5)), st(2, 1, P, "a")),
				ok(getOp("cy", 6, 7), st(2, 1, P, "a")),
			},
			want: want{lin: LinIllegal, conflicts: 1},
		},
		{
			name: "unknown guess that was applied passes",
			ops: []Op{
				unknown(guessOp("ana", "a", "1", 0, 1)),
				ok(guessOp("bo", "z", "1", 2, 3), st(2, 1, P, "z")), // applied later than its timeout
				ok(getOp("cy", 4, 5), st(3, 1, P, "za")),
			},
			want: want{lin: LinOK, pass: true},
		},
		{
			name: "unknown guess then its resend answered with the first answer passes",
			ops: []Op{
				unknown(guessOp("ana", "a", "1", 0, 1)),
				ok(guessOp("bo", "z", "1", 2, 3), st(3, 1, L, "az")), // lost: the unknown guess made it playing, then z lost
				hit(resend(guessOp("ana", "a", "1", 4, 5)), st(2, 1, P, "a")),
				ok(getOp("cy", 6, 7), st(3, 1, L, "az")),
			},
			want: want{lin: LinOK, pass: true},
		},
		{
			name: "unknown guess that was never applied passes",
			ops: []Op{
				unknown(guessOp("ana", "a", "1", 0, 1)),
				ok(getOp("bo", 2, 3), st(1, 1, P, "")),
				ok(guessOp("bo", "b", "1", 4, 5), st(2, 1, P, "b")),
				unknown(getOp("ana", 6, 7)),
				ok(getOp("cy", 8, 9), st(2, 1, P, "b")),
			},
			want: want{lin: LinOK, pass: true},
		},
		{
			name: "unknown guess applied twice fails",
			ops: []Op{
				unknown(guessOp("ana", "a", "1", 0, 1)),
				hit(resend(guessOp("ana", "a", "1", 2, 3)), st(2, 1, P, "a")),
				ok(getOp("cy", 4, 5), st(3, 1, P, "aa")),
			},
			want: want{lin: LinIllegal},
		},
		{
			name: "unknown guess applied again in the next round fails",
			ops: []Op{
				unknown(guessOp("ana", "a", "1", 0, 1)),
				hit(resend(guessOp("ana", "a", "1", 2, 3)), st(2, 1, W, "a")),
				ok(nextOp("bo", 1, true, 4, 5), st(3, 2, P, "")),
				ok(getOp("cy", 6, 7), st(4, 2, P, "a")),
			},
			want: want{lin: LinIllegal},
		},
		{
			name: "unknown guess applied before its round ended passes",
			ops: []Op{
				unknown(inRound(guessOp("ana", "a", "1", 0, 1), 1)),
				ok(getOp("bo", 2, 3), st(2, 1, P, "a")),
				ok(nextOp("bo", 1, true, 4, 5), st(3, 2, P, "")),
				ok(getOp("cy", 6, 7), st(3, 2, P, "")),
			},
			want: want{lin: LinOK, pass: true},
		},
		{
			name: "unknown guess sent after its round ended passes",
			ops: []Op{
				ok(nextOp("bo", 1, true, 0, 1), st(2, 2, P, "")),
				unknown(inRound(guessOp("ana", "a", "1", 2, 3), 1)),
				ok(getOp("cy", 4, 5), st(2, 2, P, "")),
			},
			want: want{lin: LinOK, pass: true},
		},
		{
			name: "unknown guess naming a round applied after it ended fails",
			ops: []Op{
				unknown(inRound(guessOp("ana", "a", "1", 0, 1), 1)),
				ok(nextOp("bo", 1, true, 2, 3), st(2, 2, P, "")),
				ok(getOp("cy", 4, 5), st(3, 2, P, "a")),
			},
			want: want{lin: LinIllegal},
		},
		{
			name: "resent request applied again after the player moved on fails",
			// The game remembers only the player's last request, so a late
			// copy of rid 1 would be applied again in round 2: promise 2
			// says a request is applied at most once.
			ops: []Op{
				unknown(guessOp("ana", "a", "1", 0, 1)),
				hit(resend(guessOp("ana", "a", "1", 2, 3)), st(2, 1, W, "a")),
				ok(nextOp("bo", 1, true, 4, 5), st(3, 2, P, "")),
				ok(guessOp("ana", "b", "2", 6, 7), st(4, 2, P, "b")),
				ok(getOp("cy", 8, 9), st(5, 2, P, "ba")),
			},
			want: want{lin: LinIllegal},
		},
		{
			name: "resends until answered after the first send took effect late pass",
			ops: []Op{
				unknown(guessOp("ana", "a", "1", 0, 1)),
				unknown(resend(guessOp("ana", "a", "1", 2, 3))),
				ok(guessOp("bo", "z", "1", 3, 4), st(2, 1, P, "z")),
				hit(resend(guessOp("ana", "a", "1", 5, 6)), st(3, 1, P, "za")),
				ok(getOp("cy", 7, 8), st(3, 1, P, "za")),
			},
			want: want{lin: LinOK, pass: true},
		},
		{
			name: "next round: the second to end a round gets the round's start",
			ops: []Op{
				hit(guessOp("ana", "a", "1", 0, 1), st(2, 1, W, "a")),
				ok(nextOp("ana", 1, true, 2, 3), st(3, 2, P, "")),
				ok(guessOp("ana", "b", "2", 4, 5), st(4, 2, P, "b")),
				ok(getOp("bo", 6, 7), st(4, 2, P, "b")),
				ok(nextOp("bo", 1, true, 8, 9), st(3, 2, P, "")), // not backwards: the start of bo's round
				unknown(nextOp("cy", 1, true, 10, 11)),
				ok(resend(nextOp("cy", 1, true, 12, 13)), st(3, 2, P, "")),
				failed(nextOp("bo", 2, false, 14, 15), "forbidden"), // only the host starts a round
				failed(nextOp("bo", 3, true, 18, 19), "bad_request"),
				ok(nextOp("ana", 2, true, 20, 21), st(5, 3, P, "")), // the host may end a round being played
				failed(nextOp("bo", 1, true, 22, 23), "round_over"),
				ok(getOp("bo", 24, 25), st(5, 3, P, "")),
			},
			want: want{lin: LinOK, pass: true},
		},
		{
			name: "next round retry answered with the room as it is now fails",
			ops: []Op{
				hit(guessOp("ana", "a", "1", 0, 1), st(2, 1, W, "a")),
				ok(nextOp("ana", 1, true, 2, 3), st(3, 2, P, "")),
				ok(guessOp("ana", "b", "2", 4, 5), st(4, 2, P, "b")),
				ok(nextOp("bo", 1, true, 6, 7), st(4, 2, P, "b")),
				ok(getOp("bo", 8, 9), st(4, 2, P, "b")),
			},
			want: want{lin: LinIllegal},
		},
		{
			name: "next round applied twice fails",
			ops: []Op{
				hit(guessOp("ana", "a", "1", 0, 1), st(2, 1, W, "a")),
				ok(nextOp("ana", 1, true, 2, 3), st(3, 2, P, "")),
				ok(nextOp("bo", 1, true, 4, 5), st(4, 3, P, "")),
				ok(getOp("bo", 6, 7), st(4, 3, P, "")),
			},
			want: want{lin: LinIllegal},
		},
		{
			name: "next round by a player who is not the host fails",
			ops: []Op{
				ok(nextOp("bo", 1, false, 0, 1), st(2, 2, P, "")),
				ok(getOp("bo", 2, 3), st(2, 2, P, "")),
			},
			want: want{lin: LinIllegal},
		},
		{
			name: "next round refused as round over while it was the round's retry fails",
			ops: []Op{
				ok(nextOp("ana", 1, true, 0, 1), st(2, 2, P, "")),
				failed(nextOp("bo", 1, true, 2, 3), "round_over"),
				ok(getOp("bo", 4, 5), st(2, 2, P, "")),
			},
			want: want{lin: LinIllegal},
		},
		{
			name: "not found after the room was seen fails",
			ops: []Op{
				ok(getOp("ana", 0, 1), st(1, 1, P, "")),
				failed(getOp("bo", 2, 3), "not_found"),
				ok(getOp("cy", 4, 5), st(1, 1, P, "")),
			},
			want: want{lin: LinIllegal},
		},
		{
			name: "refusal the rules do not give fails",
			ops: []Op{
				failed(guessOp("ana", "a", "1", 0, 1), "already_guessed"),
				ok(getOp("cy", 4, 5), st(1, 1, P, "")),
			},
			want: want{lin: LinIllegal},
		},
		{
			name: "watch without gaps across a resubscribe passes",
			ops: []Op{
				ok(guessOp("ana", "a", "1", 0, 1), st(2, 1, P, "a")),
				ok(guessOp("ana", "b", "2", 2, 3), st(3, 1, P, "ab")),
				ok(guessOp("ana", "c", "3", 4, 5), st(4, 1, P, "abc")),
				ok(getOp("cy", 6, 7), st(4, 1, P, "abc")),
			},
			events: []Event{
				ev("w", "s1", 0, st(1, 1, P, "")),
				ev("w", "s1", 1, st(2, 1, P, "a")),
				ev("w", "s2", 4, st(3, 1, P, "ab")), // resubscribed from v3
				ev("w", "s2", 5, st(4, 1, P, "abc")),
			},
			want: want{lin: LinOK, pass: true},
		},
		{
			name: "watch with a gap fails",
			ops: []Op{
				ok(guessOp("ana", "a", "1", 0, 1), st(2, 1, P, "a")),
				ok(guessOp("ana", "b", "2", 2, 3), st(3, 1, P, "ab")),
				ok(getOp("cy", 6, 7), st(3, 1, P, "ab")),
			},
			events: []Event{
				ev("w", "s1", 0, st(1, 1, P, "")),
				ev("w", "s1", 4, st(3, 1, P, "ab")),
			},
			want: want{lin: LinOK, gaps: 1},
		},
		{
			name: "watch going back on a new stream fails",
			ops: []Op{
				ok(guessOp("ana", "a", "1", 0, 1), st(2, 1, P, "a")),
				ok(getOp("cy", 6, 7), st(2, 1, P, "a")),
			},
			events: []Event{
				ev("w", "s1", 0, st(1, 1, P, "")),
				ev("w", "s1", 2, st(2, 1, P, "a")),
				ev("w", "s2", 3, st(1, 1, P, "")), // a resubscribe to a stale follower
			},
			want: want{lin: LinOK, gaps: 1, backwards: 1},
		},
		{
			name: "conflicting observations of one version fail",
			ops: []Op{
				ok(guessOp("ana", "a", "1", 0, 1), st(2, 1, P, "a")),
				ok(getOp("cy", 6, 7), st(2, 1, P, "a")),
			},
			events: []Event{
				ev("w", "s1", 2, st(2, 1, P, "b")),
			},
			want: want{lin: LinOK, conflicts: 1},
		},
		{
			name: "two guesses acknowledged as one version fail",
			ops: []Op{
				ok(guessOp("ana", "a", "1", 0, 2), st(2, 1, P, "a")),
				ok(guessOp("bo", "b", "1", 1, 3), st(2, 1, P, "b")),
				ok(getOp("cy", 6, 7), st(2, 1, P, "a")),
			},
			// v2 seen as two states, v2 acknowledged to two requests, and
			// the final read lacks bo's letter.
			want: want{lin: LinIllegal, conflicts: 2, lost: 1},
		},
		{
			name: "history without a final read is unchecked, not failed",
			ops: []Op{
				ok(guessOp("ana", "a", "1", 0, 1), st(2, 1, P, "a")),
				ok(guessOp("bo", "b", "1", 2, 3), st(3, 1, P, "ab")),
			},
			want: want{lin: LinOK, unchecked: 1, pass: true},
		},
		{
			name: "final read that began before a write returned is unchecked",
			ops: []Op{
				ok(guessOp("ana", "a", "1", 0, 3), st(2, 1, P, "a")),
				ok(getOp("cy", 1, 2), st(1, 1, P, "")),
			},
			want: want{lin: LinOK, unchecked: 1, pass: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Check(tt.ops, tt.events, 10*time.Second)
			w := tt.want
			got := want{
				lin: r.Linearizable[room], backwards: r.Backwards, conflicts: r.Conflicts,
				gaps: r.Gaps, lost: r.Lost, unchecked: r.Unchecked, pass: r.OK(),
			}
			if w.unchecked == -1 {
				got.unchecked = -1
			}
			if got != w {
				t.Errorf("got %+v, want %+v\n%s", got, w, r.Details())
			}
			if r.Ops != len(tt.ops) || r.Events != len(tt.events) || r.Rooms != 1 {
				t.Errorf("counted %d ops, %d events, %d rooms; want %d, %d, 1", r.Ops, r.Events, r.Rooms, len(tt.ops), len(tt.events))
			}
			if r.OK() != strings.HasPrefix(r.String(), "PASS") {
				t.Errorf("String() = %q disagrees with OK() = %t", r.String(), r.OK())
			}
		})
	}
}

func TestCheckTimeoutIsNotAPass(t *testing.T) {
	// Twenty guesses that nobody knows the fate of, then a read that no
	// order of them explains: deciding so takes far longer than allowed.
	var ops []Op
	for i := range 20 {
		ops = append(ops, unknown(guessOp(fmt.Sprintf("p%d", i), string(rune('a'+i)), "1", 0, 1)))
	}
	ops = append(ops, ok(getOp("cy", 2, 3), st(5, 1, StatusPlaying, "abcz")))
	const timeout = 200 * time.Millisecond
	r := Check(ops, nil, timeout)
	if r.Linearizable[room] != LinUnknown || r.TimedOut != 1 || r.OK() {
		t.Fatalf("a check out of time must be unknown and not OK: %s", r.Details())
	}
	if !strings.Contains(r.Details(), "ran out of time") {
		t.Errorf("Details does not say the check ran out of time:\n%s", r.Details())
	}
	if r.Elapsed > timeout+2*time.Second {
		t.Errorf("the check took %s, with a timeout of %s", r.Elapsed, timeout)
	}
}

func TestRoomsArePartitions(t *testing.T) {
	// The same letters in two rooms: each room is a history of its own.
	a := []Op{
		ok(guessOp("ana", "a", "1", 0, 1), st(2, 1, StatusPlaying, "a")),
		ok(getOp("cy", 2, 3), st(2, 1, StatusPlaying, "a")),
	}
	var ops []Op
	for _, code := range []string{"r1", "r2", "r3"} {
		for _, o := range a {
			o.Room = code
			ops = append(ops, o)
		}
	}
	// A stale read in r2 only.
	stale := getOp("cy", 4, 5)
	stale.Room = "r2"
	ops = append(ops, ok(stale, st(1, 1, StatusPlaying, "")))
	r := Check(ops, nil, 10*time.Second)
	if r.Rooms != 3 || r.NotLinearizable != 1 || r.Linearizable["r2"] != LinIllegal ||
		r.Linearizable["r1"] != LinOK || r.Linearizable["r3"] != LinOK {
		t.Fatalf("want only r2 not linearizable: %s", r.Details())
	}
}

func TestWriteFailure(t *testing.T) {
	ops := []Op{
		hit(guessOp("ana", "a", "dup-1", 0, 1), st(2, 1, StatusPlaying, "a")),
		ok(guessOp("bo", "z", "3", 2, 3), st(3, 1, StatusPlaying, "az")),
		hit(resend(guessOp("ana", "a", "dup-1", 4, 5)), st(3, 1, StatusPlaying, "az")),
	}
	events := []Event{ev("w", "s1", 2, st(2, 1, StatusPlaying, "a"))}
	r := Check(ops, events, 10*time.Second)
	if r.OK() {
		t.Fatalf("want a failing report: %s", r.Details())
	}
	dir := filepath.Join(t.TempDir(), "failure")
	paths, err := r.WriteFailure(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 2 || filepath.Ext(paths[0]) != ".html" || filepath.Base(paths[1]) != "history.json" {
		t.Fatalf("paths = %v, want one HTML file and history.json", paths)
	}
	html, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"<html", "ana guess a rid=dup-1 resend → v3 r1 [a z] playing hit", "bo guess z rid=3 → v3 r1 [a z] playing miss"} {
		if !strings.Contains(string(html), s) {
			t.Errorf("visualization lacks %q", s)
		}
	}
	// The saved history checks the same.
	saved, err := ReadJSON(paths[1])
	if err != nil {
		t.Fatal(err)
	}
	again := Check(saved.Ops(), saved.Events(), 10*time.Second)
	if again.String()[:60] != r.String()[:60] || again.Conflicts != r.Conflicts || len(again.Violations) != len(r.Violations) {
		t.Errorf("saved history checks differently:\n%s\n%s", r.Details(), again.Details())
	}

	// A passing report writes nothing.
	good := Check(ops[:2], nil, 10*time.Second)
	paths, err = good.WriteFailure(filepath.Join(t.TempDir(), "none"))
	if err != nil || paths != nil {
		t.Errorf("passing report: WriteFailure = %v, %v; want nothing", paths, err)
	}
}

func TestRecorderJSONRoundTrip(t *testing.T) {
	var rec Recorder
	var wg sync.WaitGroup
	for c := range 8 {
		wg.Go(func() {
			for i := range 50 {
				rid := fmt.Sprint(i)
				rec.Add(ok(guessOp(fmt.Sprintf("c%d", c), "a", rid, i, i+1), st(uint64(i+2), 1, StatusPlaying, "ab")))
				rec.AddEvent(ev(fmt.Sprintf("c%d", c), "s", i, st(uint64(i+1), 1, StatusPlaying, "a")))
			}
		})
	}
	wg.Wait()
	path := filepath.Join(t.TempDir(), "h.json")
	if err := rec.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	ops, events := rec.Ops(), rec.Events()
	if len(ops) != 400 || len(events) != 400 {
		t.Fatalf("recorded %d ops, %d events; want 400 each", len(ops), len(events))
	}
	gotOps, gotEvents := back.Ops(), back.Events()
	for i := range ops {
		a, b := ops[i], gotOps[i]
		if !a.Call.Equal(b.Call) || !a.Return.Equal(b.Return) || !a.Reply.Equal(b.Reply) || a.RequestID != b.RequestID || a.Outcome != b.Outcome || a.Hit != b.Hit {
			t.Fatalf("op %d: wrote %+v, read %+v", i, a, b)
		}
	}
	for i := range events {
		if !events[i].At.Equal(gotEvents[i].At) || !events[i].State.Equal(gotEvents[i].State) || events[i].Stream != gotEvents[i].Stream {
			t.Fatalf("event %d: wrote %+v, read %+v", i, events[i], gotEvents[i])
		}
	}
	if _, err := ReadJSON(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("ReadJSON of a missing file: no error")
	}
}

// A next round whose reply was lost, applied and then sent again (inside
// one call, as a client retries) after two more rounds began, is answered
// with its first answer: the player's last request. Refusing it as too
// old would hide that it took effect.
func TestNextRoundLateResendGetsFirstAnswer(t *testing.T) {
	for _, tt := range []struct {
		name  string
		reply Op
		lin   LinResult
	}{
		{"first answer", ok(nextOp("cy", 1, true, 30, 400), st(3, 2, StatusPlaying, "")), LinOK},
		{"refused as too old", failed(nextOp("cy", 1, true, 30, 400), "round_over"), LinIllegal},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ops := []Op{
				ok(guessOp("ana", "a", "a1", 0, 10), st(2, 1, StatusWon, "a")),
				tt.reply,
				// Round 2 was started by cy's request (nobody else ended round 1).
				ok(getOp("bo", 50, 60), st(3, 2, StatusPlaying, "")),
				ok(nextOp("ana", 2, true, 70, 80), st(4, 3, StatusPlaying, "")),
				ok(getOp("bo", 500, 510), st(4, 3, StatusPlaying, "")),
			}
			r := Check(ops, nil, 5*time.Second)
			if got := r.Linearizable[room]; got != tt.lin {
				t.Fatalf("linearizable = %v, want %v\n%s", got, tt.lin, r.Details())
			}
		})
	}
}
