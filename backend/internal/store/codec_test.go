package store

import (
	"reflect"
	"testing"

	"github.com/gallows-game/gallows/backend/game"
)

// Every field of every command survives the trip through the log.
func TestCommandsSurviveEncoding(t *testing.T) {
	for _, cmd := range []game.Command{
		game.CreateRoom{Code: "ABCDE", Host: "ana", Category: "food", Difficulty: game.Hard, Word: "toast", MaxLives: 9, RequestID: "c-1", At: 11},
		game.CreateRoom{Code: "ABCDE", Host: "ana", Category: "custom", Custom: true, Word: "cat", At: 12},
		game.Guess{Room: "ABCDE", Player: "bo", Letter: "e", RequestID: "g-1", Round: 2, At: 13},
		game.NextRound{Room: "ABCDE", Player: "bo", Word: "bread", FromRound: 3, At: 14},
		game.Join{Room: "ABCDE", Player: "cy", At: 15},
		game.Leave{Room: "ABCDE", Player: "cy", At: 16},
	} {
		t.Run(reflect.TypeOf(cmd).Name(), func(t *testing.T) {
			p, err := toProto(cmd)
			if err != nil {
				t.Fatal(err)
			}
			got, err := fromProto(p)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, cmd) {
				t.Errorf("decoded %+v, want %+v", got, cmd)
			}
		})
	}
}
