package backend_test

import (
	"slices"
	"testing"
	"time"


	"github.com/gallows-game/gallows/backend"
	"github.com/gallows-game/gallows/backend/internal/clustertest"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

const alphabet = "etaoinshrdlcumwfgypbvkjxqz"

func createRoom(t *testing.T, c pb.GameClient) *pb.Room {
	t.Helper()
	ctx := clustertest.Context(t, 10*time.Second)
	// A custom word with many distinct letters keeps a round going for many guesses.
	reply, err := c.CreateRoom(ctx, &pb.CreateRoomRequest{Host: "ana", Word: "quick brown fox jumps lazy dog", MaxLives: 26})
	if err != nil {
		t.Fatalf("create room: %v", err)
	}
	return reply.GetRoom()
}

// roomOn reads the room as node n has applied it.
func roomOn(t *testing.T, n *backend.Node, id string) (version uint64, guessed []string) {
	t.Helper()
	r, ok := n.Store().Room(id)
	if !ok {
		return 0, nil
	}
	return r.Version, r.Guessed
}

func TestWriteToFollowerIsApplied(t *testing.T) {
	c := clustertest.New(t, 3)
	f := c.Followers()[0]
	room := createRoom(t, c.Client(f.ID()))
	ctx := clustertest.Context(t, 10*time.Second)
	reply, err := c.Client(f.ID()).Guess(ctx, &pb.GuessRequest{RoomId: room.GetId(), Player: "bo", Letter: "O", RequestId: "bo-1"})
	if err != nil {
		t.Fatalf("guess via follower %s: %v", f.ID(), err)
	}
	if !reply.GetHit() || reply.GetRoom().GetVersion() != room.GetVersion()+1 {
		t.Fatalf("guess reply = %v, want a hit at version %d", reply, room.GetVersion()+1)
	}
	c.AppliedEverywhere(reply.GetRoom().GetRaftIndex())
	for _, n := range c.Running() {
		if v, g := roomOn(t, n, room.GetId()); v != reply.GetRoom().GetVersion() || !slices.Equal(g, []string{"o"}) {
			t.Errorf("node %s has version %d guessed %v, want %d [o]", n.ID(), v, g, reply.GetRoom().GetVersion())
		}
	}
}
