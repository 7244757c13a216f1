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
		game.CreateRoom{Code: "ZZZZZ", Host: "Zoë", Custom: true, Difficulty: game.Hard, Word: "shepherd's pie", MaxLives: 2, At: t0},
		game.Guess{Room: "ZZZZZ", Player: "Zoë", Letter: "x", RequestID: "id-1", At: t0 + 1},
		game.Guess{Room: "ZZZZZ", Player: "amy", Letter: "q", RequestID: "id-1", At: t0 + 2},
		game.CreateRoom{Code: "22222", Host: "h", Category: "food", Difficulty: game.Easy, Word: "toast", At: t0},
		game.Guess{Room: "22222", Player: "h", Letter: "t", RequestID: "a", At: t0 + 1},
		game.NextRound{Room: "22222", Player: "h", Word: "bread", At: t0 + 2},
		game.Leave{Room: "22222", Player: "h", At: t0 + 3},
		game.CreateRoom{Code: "33333", Host: "solo", Custom: true, Word: "aa", RequestID: "create-1", At: t0},
		game.Guess{Room: "33333", Player: "solo", Letter: "a", RequestID: "done", At: t0 + 1},
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
		game.Guess{Room: "ZZZZZ", Player: "amy", Letter: "q", RequestID: "id-1", At: t0 + 9},
		game.Guess{Room: "ZZZZZ", Player: "amy", Letter: "p", RequestID: "id-2", At: t0 + 9},
		game.Guess{Room: "33333", Player: "new", Letter: "b", RequestID: "n", At: t0 + 9},
		game.NextRound{Room: "33333", Player: "new", Word: "again", At: t0 + 9},
		game.Join{Room: "22222", Player: "h", At: t0 + 9},
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
		{"future format", `{"format":5,"rooms":[]}`},
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
	mustApply(t, s, game.Guess{Room: "ABCDE", Player: "h", Letter: "e", RequestID: "x"})

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
