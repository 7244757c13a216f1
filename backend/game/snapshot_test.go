package game_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/gallows-game/gallows/backend/game"
)

// variedState returns a state with rooms in many different situations.
func variedState(t testing.TB) *game.State {
	t.Helper()
	s := fixture(t)
	for _, c := range []game.Command{
		game.CreateRoom{Code: "ZZZZZ", Host: "Zoë", HostID: pid("Zoë"), Custom: true, Difficulty: game.Hard, Word: "shepherd's pie", MaxLives: 2, At: t0},
		game.Guess{Room: "ZZZZZ", Player: "bob", PlayerID: pid("bob"), Letter: "x", RequestID: "id-1", At: t0 + 1},
		game.Guess{Room: "ZZZZZ", Player: "amy", PlayerID: pid("amy"), Letter: "q", RequestID: "id-1", At: t0 + 2},
		game.CreateRoom{Code: "22222", Host: "h", HostID: pid("h"), Category: "food", Difficulty: game.Easy, Word: "toast", At: t0},
		game.Guess{Room: "22222", Player: "h", PlayerID: pid("h"), Letter: "t", RequestID: "a", At: t0 + 1},
		game.NextRound{Room: "22222", Player: "h", PlayerID: pid("h"), Word: "bread", At: t0 + 2},
		game.Leave{Room: "22222", PlayerID: pid("h"), At: t0 + 3},
		game.CreateRoom{Code: "33333", Host: "solo", HostID: pid("solo"), Category: "food", Word: "aa", RequestID: "create-1", At: t0},
		game.Guess{Room: "33333", Player: "solo", PlayerID: pid("solo"), Letter: "a", RequestID: "done", At: t0 + 1},
	} {
		mustApply(t, s, c)
	}
	return s
}

func TestSnapshotRoundTrip(t *testing.T) {
	for name, s := range map[string]*game.State{
		"empty":  game.NewState(),
		"zero":   {},
		"varied": variedState(t),
	} {
		t.Run(name, func(t *testing.T) {
			data := snapshot(t, s)
			restored := game.NewState()
			if err := restored.Restore(bytes.NewReader(data)); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			if !reflect.DeepEqual(s.Rooms(), restored.Rooms()) {
				t.Errorf("restored rooms differ:\n%v\n%v", s.Rooms(), restored.Rooms())
			}
			if name != "zero" && !reflect.DeepEqual(s, restored) {
				t.Error("restored state is not DeepEqual to the original")
			}
			if again := snapshot(t, restored); !bytes.Equal(data, again) {
				t.Errorf("snapshot of restored state differs:\n%s\n%s", data, again)
			}
			if again := snapshot(t, s); !bytes.Equal(data, again) {
				t.Error("two snapshots of one state differ")
			}
		})
	}
}

func TestRestoredStateKeepsPlaying(t *testing.T) {
	s := variedState(t)
	restored := game.NewState()
	if err := restored.Restore(bytes.NewReader(snapshot(t, s))); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []game.Command{
		game.Guess{Room: "ZZZZZ", Player: "amy", PlayerID: pid("amy"), Letter: "q", RequestID: "id-1", At: t0 + 9},
		game.Guess{Room: "ZZZZZ", Player: "amy", PlayerID: pid("amy"), Letter: "p", RequestID: "id-2", At: t0 + 9},
		game.Guess{Room: "33333", Player: "new", PlayerID: pid("new"), Letter: "b", RequestID: "n", At: t0 + 9},
		game.NextRound{Room: "33333", Player: "solo", PlayerID: pid("solo"), Word: "again", At: t0 + 9},
		game.Join{Room: "22222", Player: "h", PlayerID: pid("h"), At: t0 + 9},
	} {
		want, wantErr := s.Apply(cmd)
		got, gotErr := restored.Apply(cmd)
		if !reflect.DeepEqual(want, got) || !reflect.DeepEqual(wantErr, gotErr) {
			t.Errorf("Apply(%+v): original %+v, %v; restored %+v, %v", cmd, want, wantErr, got, gotErr)
		}
	}
	if !bytes.Equal(snapshot(t, s), snapshot(t, restored)) {
		t.Error("states diverged")
	}
}

func TestRestoreErrorsLeaveStateUnchanged(t *testing.T) {
	good := string(snapshot(t, variedState(t)))
	room := `{"Code":"ABCDE","Host":"h","Category":"custom","Difficulty":"","Custom":true,"Round":1,"Word":"hello","Guessed":null,"Wrong":null,"MaxLives":6,"LivesLeft":6,"Status":1,"Players":[{"Name":"h","Points":0}],"Log":null,"Version":1,"CreatedAt":0,"UpdatedAt":0}`
	withRoom := func(old, new string) string {
		return `{"format":2,"rooms":[` + strings.Replace(room, old, new, 1) + `]}`
	}
	tests := []struct {
		name, data string
	}{
		{"empty input", ""},
		{"not json", "hello"},
		{"truncated", good[:len(good)/2]},
		{"trailing data", good + "{}"},
		{"old format", `{"format":1,"rooms":[]}`},
		{"future format", `{"format":7,"rooms":[]}`},
		{"missing format", `{"rooms":[]}`},
		{"unknown field", `{"format":2,"rooms":[],"extra":true}`},
		{"null room", `{"format":2,"rooms":[null]}`},
		{"bad code", withRoom(`"ABCDE"`, `"ABCD0"`)},
		{"lower-case code", withRoom(`"ABCDE"`, `"abcde"`)},
		{"bad status", withRoom(`"Status":1`, `"Status":4`)},
		{"zero version", withRoom(`"Version":1`, `"Version":0`)},
		{"zero round", withRoom(`"Round":1`, `"Round":0`)},
		{"bad lives", withRoom(`"LivesLeft":6`, `"LivesLeft":7`)},
		{"bad word", withRoom(`"hello"`, `"he llo "`)},
		{"duplicate code", `{"format":2,"rooms":[` + room + `,` + room + `]}`},
		{"create request too long", withRoom(`"UpdatedAt":0`, `"UpdatedAt":0,"CreateRequest":"`+strings.Repeat("x", game.MaxRequestIDLen+1)+`"`)},
		{"create request twice", `{"format":3,"rooms":[` + strings.Replace(room, `"UpdatedAt":0`, `"UpdatedAt":0,"CreateRequest":"c"`, 1) + `,` +
			strings.Replace(strings.Replace(room, `"UpdatedAt":0`, `"UpdatedAt":0,"CreateRequest":"c"`, 1), `"ABCDE"`, `"FGHJK"`, 1) + `]}`},
		{"too many players", withRoom(`{"Name":"h","Points":0}`, strings.Repeat(`{"Name":"h","Points":0},`, game.MaxPlayersPerRoom)+`{"Name":"h","Points":0}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fixture(t)
			before := snapshot(t, s)
			err := s.Restore(strings.NewReader(tt.data))
			if !errors.Is(err, game.ErrBadSnapshot) {
				t.Errorf("Restore = %v, want ErrBadSnapshot", err)
			}
			if !bytes.Equal(before, snapshot(t, s)) {
				t.Error("failed Restore changed the state")
			}
		})
	}

	// The minimal room itself is fine, and takes guesses with request ids.
	s := game.NewState()
	if err := s.Restore(strings.NewReader(withRoom("", ""))); err != nil {
		t.Fatalf("Restore minimal room: %v", err)
	}
	mustApply(t, s, game.Guess{Room: "ABCDE", Player: "g", PlayerID: game.LegacyPlayerID("g"), Letter: "e", RequestID: "x"})

	readErr := errors.New("disk on fire")
	if err := s.Restore(iotest.ErrReader(readErr)); !errors.Is(err, readErr) {
		t.Errorf("Restore from failing reader = %v, want %v", err, readErr)
	}
}

func TestSnapshotWriteError(t *testing.T) {
	s := variedState(t)
	if err := s.Snapshot(failWriter{}); !errors.Is(err, errWrite) {
		t.Errorf("Snapshot to failing writer = %v, want %v", err, errWrite)
	}
}

var errWrite = errors.New("write failed")

// failWriter is an io.Writer that always fails.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

// format4 is a snapshot as format 4 wrote it, before player ids: room
// ABCDE, created by ana with request c-1 (its first answer in created),
// where amy guessed e with request g-1; room FGHJK, whose host left (as
// format 4 allowed), with bo and cy.
const format4 = `{"format":4,"rooms":[` +
	`{"Code":"ABCDE","Host":"ana","Category":"custom","Difficulty":"","Custom":true,"Round":1,"Word":"hello","Guessed":["e"],"Wrong":null,"MaxLives":6,"LivesLeft":6,"Status":1,` +
	`"Players":[{"Name":"ana","Points":0,"LastRequest":{"ID":"","Letter":"","Hit":false,"Version":0}},{"Name":"amy","Points":10,"LastRequest":{"ID":"g-1","Letter":"e","Hit":true,"Version":2,` +
	`"Reply":{"Code":"ABCDE","Host":"ana","Category":"custom","Difficulty":"","Custom":true,"Round":1,"Word":"hello","Guessed":["e"],"Wrong":null,"MaxLives":6,"LivesLeft":6,"Status":1,"Players":[{"Name":"ana","Points":0,"LastRequest":{"ID":"","Letter":"","Hit":false,"Version":0}},{"Name":"amy","Points":10,"LastRequest":{"ID":"","Letter":"","Hit":false,"Version":0}}],"Log":[{"Player":"amy","Letter":"e","Hit":true,"Version":2}],"Version":2,"CreatedAt":1,"CreateRequest":"c-1","UpdatedAt":2}}}],` +
	`"Log":[{"Player":"amy","Letter":"e","Hit":true,"Version":2}],"Version":2,"CreatedAt":1,"CreateRequest":"c-1","UpdatedAt":2},` +
	`{"Code":"FGHJK","Host":"gone","Category":"custom","Difficulty":"","Custom":true,"Round":1,"Word":"hello","Guessed":null,"Wrong":null,"MaxLives":6,"LivesLeft":6,"Status":1,` +
	`"Players":[{"Name":"bo","Points":0,"LastRequest":{"ID":"","Letter":"","Hit":false,"Version":0}},{"Name":"cy","Points":0,"LastRequest":{"ID":"","Letter":"","Hit":false,"Version":0}}],"Log":null,"Version":4,"CreatedAt":1,"UpdatedAt":4}],` +
	`"created":[{"Code":"ABCDE","Host":"ana","Category":"custom","Difficulty":"","Custom":true,"Round":1,"Word":"hello","Guessed":null,"Wrong":null,"MaxLives":6,"LivesLeft":6,"Status":1,"Players":[{"Name":"ana","Points":0,"LastRequest":{"ID":"","Letter":"","Hit":false,"Version":0}}],"Log":null,"Version":1,"CreatedAt":1,"CreateRequest":"c-1","UpdatedAt":1}]}`

// TestRestoreFormat4 reads a snapshot of format 4, which had no player
// ids: each player gets game.LegacyPlayerID of its name and counts as
// active at the room's last change, a host who left hands over to the
// player who joined earliest, and first answers are found by the legacy
// ids. The state's own snapshot is of the new format and round-trips.
func TestRestoreFormat4(t *testing.T) {
	s := game.NewState()
	if err := s.Restore(strings.NewReader(format4)); err != nil {
		t.Fatalf("Restore of format 4: %v", err)
	}
	abcde := room(t, s, "ABCDE")
	wantPlayers := []game.Player{{Name: "ana", ID: "name:ana", LastActive: 2}, {Name: "amy", ID: "name:amy", Points: 10, MatchPoints: 10, LastActive: 2}}
	for i, p := range abcde.Players {
		p.LastRequest = game.RequestRecord{}
		if i >= len(wantPlayers) || p != wantPlayers[i] {
			t.Errorf("ABCDE player %d = %+v, want %+v", i, p, wantPlayers)
		}
	}
	if abcde.HostID != "name:ana" || abcde.CreatorID != "name:ana" {
		t.Errorf("ABCDE host id %q, creator id %q; want name:ana", abcde.HostID, abcde.CreatorID)
	}
	if fghjk := room(t, s, "FGHJK"); fghjk.Host != "bo" || fghjk.HostID != "name:bo" {
		t.Errorf("FGHJK, whose host left: host %q (%q), want bo", fghjk.Host, fghjk.HostID)
	}

	// The first answers are found by the legacy ids.
	create := game.CreateRoom{Code: "WXYZ2", Host: "ana", HostID: game.LegacyPlayerID("ana"), Custom: true, Word: "other", RequestID: "c-1", At: 10}
	if res := mustApply(t, s, create); !res.Duplicate || res.Room.Code != "ABCDE" || res.Room.Version != 1 {
		t.Errorf("create resent after the restore: duplicate %v, room %s v%d; want the first answer, ABCDE v1", res.Duplicate, res.Room.Code, res.Room.Version)
	}
	guess := game.Guess{Room: "ABCDE", Player: "amy", PlayerID: game.LegacyPlayerID("amy"), Letter: "e", RequestID: "g-1", At: 10}
	if res := mustApply(t, s, guess); !res.Duplicate || !res.Hit || res.Room.Version != 2 {
		t.Errorf("guess resent after the restore: duplicate %v, hit %v, v%d; want the first answer", res.Duplicate, res.Hit, res.Room.Version)
	}
	// A name keeps its legacy owner.
	if _, err := s.Apply(game.Guess{Room: "ABCDE", Player: "amy", PlayerID: "a-session", Letter: "l", At: 10}); !errors.Is(err, game.ErrNameTaken) {
		t.Errorf("guess under amy's name by another id: %v, want ErrNameTaken", err)
	}

	data := snapshot(t, s)
	if !strings.HasPrefix(string(data), `{"format":6,`) {
		t.Errorf("snapshot after a format 4 restore: %.40s…, want format 6", data)
	}
	again := game.NewState()
	if err := again.Restore(bytes.NewReader(data)); err != nil {
		t.Fatalf("Restore of the new snapshot: %v", err)
	}
	if !bytes.Equal(snapshot(t, again), data) {
		t.Error("the new snapshot does not round-trip")
	}
}

// TestRestoreRefusesBrokenPlayers: a snapshot of format 5 whose players
// lack ids, share one, or whose host is not among them when it has
// players is refused; so is a format 4 snapshot that has ids already.
func TestRestoreRefusesBrokenPlayers(t *testing.T) {
	room := `{"Code":"ABCDE","Host":"h","HostID":"i-h","CreatorID":"i-h","Category":"custom","Custom":true,"Round":1,"Word":"hello","MaxLives":6,"LivesLeft":6,"Status":1,"Players":[{"Name":"h","ID":"i-h"},{"Name":"g","ID":"i-g"}],"Version":1}`
	with := func(format int, old, new string) string {
		return `{"format":` + string(rune('0'+format)) + `,"rooms":[` + strings.Replace(room, old, new, 1) + `]}`
	}
	if err := game.NewState().Restore(strings.NewReader(with(5, "", ""))); err != nil {
		t.Fatalf("Restore of the good room: %v", err)
	}
	tests := []struct{ name, data string }{
		{"player without id", with(5, `"ID":"i-g"`, `"ID":""`)},
		{"two players, one id", with(5, `"ID":"i-g"`, `"ID":"i-h"`)},
		{"two players, one name", with(5, `{"Name":"g"`, `{"Name":"h"`)},
		{"host not a player", with(5, `"HostID":"i-h"`, `"HostID":"i-x"`)},
		{"no host id", with(5, `"HostID":"i-h",`, ``)},
		{"no creator id", with(5, `"CreatorID":"i-h",`, ``)},
		{"ids in format 4", with(4, "", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := game.NewState().Restore(strings.NewReader(tt.data)); !errors.Is(err, game.ErrBadSnapshot) {
				t.Errorf("Restore = %v, want ErrBadSnapshot", err)
			}
		})
	}
}
