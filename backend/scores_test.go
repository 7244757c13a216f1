package backend_test

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gallows-game/gallows/backend"
	"github.com/gallows-game/gallows/gameclient"
	"github.com/gallows-game/gallows/internal/faultnet"
	"github.com/gallows-game/gallows/internal/localcluster"
	"github.com/gallows-game/gallows/internal/localcluster/localtest"
	"github.com/gallows-game/gallows/internal/pki"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// scoreOn reads a player's score from node id's replica (-1 if the node
// does not answer).
func scoreOn(t *testing.T, c *localtest.Cluster, id, player string) int64 {
	t.Helper()
	cursor := ""
	for {
		reply, err := c.ScoresClient(id).Top(localtest.Context(t, 5*time.Second), &pb.TopRequest{Limit: 200, Cursor: cursor})
		if err != nil {
			return -1
		}
		for _, e := range reply.GetEntries() {
			if e.GetPlayerId() == player {
				return e.GetScore()
			}
		}
		if cursor = reply.GetNextCursor(); cursor == "" {
			return 0
		}
	}
}

func writeScore(t *testing.T, c *localtest.Cluster, id string, w *pb.ScoreWrite) {
	t.Helper()
	if _, err := c.ScoresClient(id).Write(localtest.Context(t, 5*time.Second), w); err != nil {
		t.Errorf("write %v on %s: %v", w, id, err)
	}
}

func add(player string, n int64) *pb.ScoreWrite {
	return &pb.ScoreWrite{PlayerId: player, Change: &pb.ScoreWrite_Add{Add: n}}
}

func set(player string, v int64) *pb.ScoreWrite {
	return &pb.ScoreWrite{PlayerId: player, Change: &pb.ScoreWrite_Set{Set: v}}
}

// everywhere waits until every running node reports want for player.
func everywhere(t *testing.T, c *localtest.Cluster, player string, want int64) {
	t.Helper()
	localtest.Poll(t, 15*time.Second, fmt.Sprintf("%s's score %d on every node", player, want), func() bool {
		for _, n := range c.Running() {
			if scoreOn(t, c, n.ID(), player) != want {
				return false
			}
		}
		return true
	})
}

// Concurrent increments on five nodes for one player all count.
func TestScoresConcurrentIncrementsAllCount(t *testing.T) {
	c := localtest.Start(t, localcluster.Config{Backends: 5})
	var wg sync.WaitGroup
	for _, n := range c.Running() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				writeScore(t, c, n.ID(), add("ana", 3))
			}
		}()
	}
	wg.Wait()
	everywhere(t, c, "ana", 5*20*3)
}

// Both sides of a gossip partition take writes; once healed, every node
// holds every write.
func TestScoresPartitionHeals(t *testing.T) {
	network := faultnet.New()
	c := localtest.Start(t, localcluster.Config{Backends: 5, Network: network})
	left, right := []string{"b1", "b2"}, []string{"b3", "b4", "b5"}
	for _, a := range left {
		for _, b := range right {
			network.Cut(a, b)
		}
	}
	for _, id := range left {
		writeScore(t, c, id, add("ana", 10))
		writeScore(t, c, id, add("bo", 1))
	}
	for _, id := range right {
		writeScore(t, c, id, add("ana", 100))
		writeScore(t, c, id, set("cy", 42))
	}
	localtest.Poll(t, 10*time.Second, "each side to agree within itself", func() bool {
		return scoreOn(t, c, "b2", "ana") == 20 && scoreOn(t, c, "b5", "ana") == 300 && scoreOn(t, c, "b3", "cy") == 42
	})
	network.HealAll()
	everywhere(t, c, "ana", 320)
	everywhere(t, c, "bo", 2)
	everywhere(t, c, "cy", 42)
}

// A node whose clock runs an hour ahead sets a score; a node with a right
// clock that has seen that value sets another, then a node an hour behind
// that has seen it: each later write wins on every node.
func TestScoresLaterWriteBeatsFastClock(t *testing.T) {
	c := localtest.Start(t, localcluster.Config{Backends: 5, Backend: func(bc *backend.Config) {
		switch bc.ID {
		case "b1":
			bc.ScoresWall = func() time.Time { return time.Now().Add(time.Hour) }
		case "b3":
			bc.ScoresWall = func() time.Time { return time.Now().Add(-time.Hour) }
		}
	}})
	writeScore(t, c, "b1", set("ana", 100))
	localtest.Poll(t, 10*time.Second, "b2 to see the fast node's value", func() bool {
		return scoreOn(t, c, "b2", "ana") == 100
	})
	writeScore(t, c, "b2", set("ana", 7))
	everywhere(t, c, "ana", 7)
	// A node an hour behind, having seen 7, sets 3: it wins too.
	writeScore(t, c, "b3", set("ana", 3))
	everywhere(t, c, "ana", 3)
}

// A restarted node comes back with its replica and catches up on what it
// missed; a whole cluster restarted finds its scores in the data dirs.
func TestScoresRestartedNodeCatchesUp(t *testing.T) {
	c := localtest.Start(t, localcluster.Config{Backends: 5})
	writeScore(t, c, "b1", add("ana", 5))
	everywhere(t, c, "ana", 5)
	c.Kill("b5")
	writeScore(t, c, "b2", add("ana", 7))
	writeScore(t, c, "b3", set("bo", 9))
	c.Restart("b5")
	everywhere(t, c, "ana", 12)
	everywhere(t, c, "bo", 9)

	// Every node down at once, then back: each has its replica from its
	// data dir (no other node could have told it).
	for _, n := range c.Running() {
		c.Kill(n.ID())
	}
	for _, id := range c.IDs() {
		c.Restart(id)
	}
	everywhere(t, c, "ana", 12)
	everywhere(t, c, "bo", 9)
}

// Scores stay readable and writable on a node whose Raft has no quorum.
func TestScoresWithoutQuorum(t *testing.T) {
	c := localtest.Start(t, localcluster.Config{Backends: 3})
	leader := c.Leader()
	var survivor string
	for _, n := range c.Running() {
		if n.ID() != leader.ID() && survivor == "" {
			survivor = n.ID()
			continue
		}
		c.Kill(n.ID())
	}
	writeScore(t, c, survivor, add("ana", 4))
	writeScore(t, c, survivor, add("ana", 6))
	if got := scoreOn(t, c, survivor, "ana"); got != 10 {
		t.Errorf("score on %s without quorum = %d, want 10", survivor, got)
	}
}

// Game points enter the replica once, on every node, however many nodes
// apply them.
func TestScoresCountGamePointsOnce(t *testing.T) {
	c := localtest.Start(t, localcluster.Config{Backends: 3})
	game := c.Client(c.Leader().ID())
	room := createRoom(t, game)
	for _, l := range "quick" {
		if _, err := localtest.Guess(localtest.Context(t, 10*time.Second), game, &pb.GuessRequest{
			RoomId: room.GetId(), Player: "bo", PlayerId: gameclient.BotPlayerID("bo"), Letter: string(l), RequestId: newRequestID("bo")}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := game.GetRoom(localtest.Context(t, 5*time.Second), &pb.GetRoomRequest{RoomId: room.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	for _, p := range r.GetRoom().GetPlayers() {
		if p.GetName() == "bo" {
			want = int64(p.GetPoints())
		}
	}
	if want == 0 {
		t.Fatal("bo has no points in the room")
	}
	everywhere(t, c, gameclient.BotPlayerID("bo"), want)
}

// A frontend's players are online on every node while it reports, and
// offline on every node within 15 s of its last report.
func TestPresenceFollowsTheFrontend(t *testing.T) {
	c := localtest.Start(t, localcluster.Config{Backends: 5})
	report := func(beat uint64) {
		_, err := c.ScoresClient("b1").ReportPresence(localtest.Context(t, 5*time.Second), &pb.PresenceReport{
			FrontendId: "f9", Epoch: 1, Seq: 1, Beat: beat,
			Entries: []*pb.PresenceEntry{{PlayerId: "id-ana", Name: "ana", RoomId: "ROOMA", SinceMs: time.Now().UnixMilli()}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	online := func(id string) int {
		reply, err := c.ScoresClient(id).Online(localtest.Context(t, 5*time.Second), &pb.OnlineRequest{RoomId: "ROOMA"})
		if err != nil {
			return -1
		}
		return len(reply.GetOnline())
	}
	report(1)
	localtest.Poll(t, 5*time.Second, "ana online on every node", func() bool {
		return online("b1") == 1 && online("b3") == 1 && online("b5") == 1
	})
	last := time.Now()
	report(2)
	localtest.Poll(t, 20*time.Second, "ana offline on every node", func() bool {
		return online("b1") == 0 && online("b3") == 0 && online("b5") == 0
	})
	if gone := time.Since(last); gone > 15*time.Second {
		t.Errorf("offline everywhere %v after the last report, want within 15 s", gone)
	}
}

// The admin address's scores API, as a person tries it with curl: set and
// add with POST, read with GET, a client certificate of the cluster
// required.
func TestScoresAdminAPI(t *testing.T) {
	c := localtest.Start(t, localcluster.Config{Backends: 3})
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: c.ClientTLS(pki.RoleFrontend)}}
	b1, b2 := "https://"+c.Node("b1").HTTPAddr(), "https://"+c.Node("b2").HTTPAddr()
	post := func(base, body, contentType string) (int, string) {
		t.Helper()
		resp, err := client.Post(base+"/v1/scores", contentType, strings.NewReader(body))
		if err != nil {
			t.Fatalf("POST /v1/scores: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if got, body := post(b1, `{"player_id":"p1","score":100}`, "application/json"); got != http.StatusOK {
		t.Fatalf("POST a set: %d %s", got, body)
	}
	// An add counts on top of the set it has seen (one made before the set
	// reached its node is concurrent with it, and the set wins).
	localtest.Poll(t, 10*time.Second, "b2 to see the set", func() bool { return c.Node("b2").Score("p1") == 100 })
	for _, tc := range []struct {
		base, body, contentType string
		want                    int
	}{
		{b2, `{"player_id":"p1","add":10}`, "application/json", http.StatusOK},
		{b1, `{"player_id":"p1","score":1,"add":1}`, "application/json", http.StatusBadRequest},
		{b1, `{"player_id":"","add":1}`, "application/json", http.StatusBadRequest},
		{b1, `{"player_id":"p1","add":1}`, "text/plain", http.StatusUnsupportedMediaType},
		{b1, `{"player_id":"p1","bonus":1}`, "application/json", http.StatusBadRequest},
	} {
		if got, body := post(tc.base, tc.body, tc.contentType); got != tc.want {
			t.Errorf("POST %s (%s): %d %s, want %d", tc.body, tc.contentType, got, body, tc.want)
		}
	}
	localtest.Poll(t, 10*time.Second, "GET /v1/scores on b3 to show p1 at 110", func() bool {
		resp, err := client.Get("https://" + c.Node("b3").HTTPAddr() + "/v1/scores?limit=10")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var got struct {
			Scores []struct {
				PlayerID string `json:"player_id"`
				Score    int64  `json:"score"`
			} `json:"scores"`
		}
		return json.NewDecoder(resp.Body).Decode(&got) == nil && len(got.Scores) == 1 &&
			got.Scores[0].PlayerID == "p1" && got.Scores[0].Score == 110
	})
	for name, cl := range map[string]*http.Client{
		"no certificate": {Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}},
		"plain HTTP":     {Timeout: 5 * time.Second},
	} {
		url := b1 + "/v1/scores"
		if name == "plain HTTP" {
			url = "http://" + c.Node("b1").HTTPAddr() + "/v1/scores"
		}
		if resp, err := cl.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Errorf("%s: GET /v1/scores answered 200", name)
			}
		}
	}
}

// A frontend's report too large for one gossip packet (many sessions)
// still reaches every node: its beat by gossip, its entries by
// anti-entropy.
func TestLargePresenceReportReachesEveryNode(t *testing.T) {
	c := localtest.Start(t, localcluster.Config{Backends: 3})
	const sessions = 40
	report := &pb.PresenceReport{FrontendId: "f9", Epoch: 1, Seq: 1, Beat: 1}
	for i := range sessions {
		report.Entries = append(report.Entries, &pb.PresenceEntry{
			PlayerId: fmt.Sprintf("id-%02d", i), Name: fmt.Sprintf("player-%02d", i), RoomId: "ROOMA", SinceMs: time.Now().UnixMilli()})
	}
	if _, err := c.ScoresClient("b1").ReportPresence(localtest.Context(t, 5*time.Second), report); err != nil {
		t.Fatal(err)
	}
	localtest.Poll(t, 15*time.Second, fmt.Sprintf("%d sessions online on every node", sessions), func() bool {
		for _, id := range []string{"b1", "b2", "b3"} {
			reply, err := c.ScoresClient(id).Online(localtest.Context(t, 5*time.Second), &pb.OnlineRequest{RoomId: "ROOMA"})
			if err != nil || len(reply.GetOnline()) != sessions {
				return false
			}
		}
		return true
	})
}
