package store

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/gallows-game/gallows/backend/game"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// pid is the player id the tests give the player named name.
func pid(name string) string { return "id-" + name }

// Every field of every command survives the trip through the log.
func TestCommandsSurviveEncoding(t *testing.T) {
	for _, cmd := range []game.Command{
		game.CreateRoom{Code: "ABCDE", Host: "ana", HostID: pid("ana"), Category: "food", Difficulty: game.Hard, Word: "toast", MaxLives: 9, RequestID: "c-1", At: 11},
		game.CreateRoom{Code: "ABCDE", Host: "ana", HostID: pid("ana"), Category: "custom", Custom: true, Word: "cat", At: 12},
		game.CreateRoom{Code: "ABCDE", Host: "ana", HostID: pid("ana"), Category: "food", Word: "cat", Rounds: 5, Private: true, TurnSeconds: 30, At: 12},
		game.Guess{Room: "ABCDE", Player: "bo", PlayerID: pid("bo"), Letter: "e", RequestID: "g-1", Round: 2, At: 13},
		game.NextRound{Room: "ABCDE", Player: "bo", PlayerID: pid("bo"), Word: "bread", FromRound: 3, At: 14},
		game.Rematch{Room: "ABCDE", Player: "bo", PlayerID: pid("bo"), Word: "jam", FromMatch: 2, At: 17},
		game.ExpireTurn{Room: "ABCDE", Version: 41, At: 18},
		game.Join{Room: "ABCDE", Player: "cy", PlayerID: pid("cy"), At: 15},
		game.Leave{Room: "ABCDE", PlayerID: pid("cy"), At: 16},
	} {
		t.Run(fmt.Sprintf("%T", cmd), func(t *testing.T) {
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

// A command of a log entry written before player ids, which has none, is
// read with the legacy id of its player's name: the id a snapshot of that
// time gives the player on restore.
func TestCommandsWithoutPlayerIDsGetLegacyIDs(t *testing.T) {
	tests := []struct {
		name string
		in   *pb.Command
		want game.Command
	}{
		{"create", &pb.Command{Kind: &pb.Command_CreateRoom{CreateRoom: &pb.CreateRoomCommand{Code: "ABCDE", Host: " ana ", Custom: true, Word: "cat", AtUnixMs: 1}}},
			game.CreateRoom{Code: "ABCDE", Host: " ana ", HostID: "name:ana", Custom: true, Word: "cat", At: 1}},
		{"guess", &pb.Command{Kind: &pb.Command_Guess{Guess: &pb.GuessCommand{Room: "ABCDE", Player: "bo", Letter: "e", AtUnixMs: 2}}},
			game.Guess{Room: "ABCDE", Player: "bo", PlayerID: "name:bo", Letter: "e", At: 2}},
		{"next round", &pb.Command{Kind: &pb.Command_NextRound{NextRound: &pb.NextRoundCommand{Room: "ABCDE", Player: "ana", Word: "dog", AtUnixMs: 3}}},
			game.NextRound{Room: "ABCDE", Player: "ana", PlayerID: "name:ana", Word: "dog", At: 3}},
		{"join", &pb.Command{Kind: &pb.Command_Join{Join: &pb.JoinCommand{Room: "ABCDE", Player: "cy", AtUnixMs: 4}}},
			game.Join{Room: "ABCDE", Player: "cy", PlayerID: "name:cy", At: 4}},
		{"leave", &pb.Command{Kind: &pb.Command_Leave{Leave: &pb.LeaveCommand{Room: "ABCDE", Player: "cy", AtUnixMs: 5}}},
			game.Leave{Room: "ABCDE", PlayerID: "name:cy", At: 5}},
		{"no name either", &pb.Command{Kind: &pb.Command_Join{Join: &pb.JoinCommand{Room: "ABCDE", Player: " ", AtUnixMs: 6}}},
			game.Join{Room: "ABCDE", Player: " ", At: 6}},
		{"an id wins", &pb.Command{Kind: &pb.Command_Join{Join: &pb.JoinCommand{Room: "ABCDE", Player: "cy", PlayerId: "s-1", AtUnixMs: 7}}},
			game.Join{Room: "ABCDE", Player: "cy", PlayerID: "s-1", At: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fromProto(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("decoded %+v, want %+v", got, tt.want)
			}
		})
	}
}
