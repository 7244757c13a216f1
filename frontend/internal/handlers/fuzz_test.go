package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/gallows-game/gallows/frontend/internal/hub"
	"github.com/gallows-game/gallows/frontend/internal/session"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// fuzzRoomID is the room every fuzzed request names.
const fuzzRoomID = "ABCDE"

// Versions of the rooms fakeGame answers each write with, so a test can
// tell from an ack which write it answers.
const (
	fakeCreateVersion  = 1
	fakeGuessVersion   = 2
	fakeNextVersion    = 3
	fakeRematchVersion = 4
	fakeExpireVersion  = 5
)

// fakeGame is a Game without a backend: it records the writes the handlers
// send and answers each with a bare room, so that the handlers' decoding
// can be fuzzed without a cluster. It embeds a nil Game so that it keeps
// compiling as Game grows: a method it does not implement panics when
// called, and the fuzz target reports that.
type fakeGame struct {
	Game
	mu     sync.Mutex
	writes []proto.Message
}

// record remembers a write request.
func (g *fakeGame) record(m proto.Message) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.writes = append(g.writes, m)
}

// takeWrites returns the writes recorded since the last call and forgets them.
func (g *fakeGame) takeWrites() []proto.Message {
	g.mu.Lock()
	defer g.mu.Unlock()
	w := g.writes
	g.writes = nil
	return w
}

// room is the bare room the fake answers with.
func (g *fakeGame) room(version uint64) *pb.Room {
	return &pb.Room{Id: fuzzRoomID, Version: version, Round: 1, Status: pb.RoundStatus_ROUND_STATUS_PLAYING, Masked: "_____", LivesLeft: 6, MaxLives: 6}
}

// Categories implements Game.
func (g *fakeGame) Categories(context.Context) (*pb.CategoriesReply, error) {
	return &pb.CategoriesReply{Categories: []string{"animals"}}, nil
}

// CreateRoom implements Game.
func (g *fakeGame) CreateRoom(_ context.Context, req *pb.CreateRoomRequest) (*pb.Room, error) {
	g.record(req)
	return g.room(fakeCreateVersion), nil
}

// GetRoom implements Game: every room exists.
func (g *fakeGame) GetRoom(context.Context, string) (*pb.Room, error) {
	return g.room(fakeCreateVersion), nil
}

// GetRoomStale implements Game: every room exists.
func (g *fakeGame) GetRoomStale(context.Context, string) (*pb.Room, error) {
	return g.room(fakeCreateVersion), nil
}

// ListRooms implements Game.
func (g *fakeGame) ListRooms(context.Context, *pb.ListRoomsRequest) (*pb.ListRoomsReply, error) {
	return &pb.ListRoomsReply{}, nil
}

// Guess implements Game.
func (g *fakeGame) Guess(_ context.Context, req *pb.GuessRequest) (*pb.GuessReply, error) {
	g.record(req)
	return &pb.GuessReply{Room: g.room(fakeGuessVersion)}, nil
}

// NextRound implements Game.
func (g *fakeGame) NextRound(_ context.Context, req *pb.NextRoundRequest) (*pb.Room, error) {
	g.record(req)
	return g.room(fakeNextVersion), nil
}

// Rematch implements Game.
func (g *fakeGame) Rematch(_ context.Context, req *pb.RematchRequest) (*pb.Room, error) {
	g.record(req)
	return g.room(fakeRematchVersion), nil
}

// ExpireTurn implements Game.
func (g *fakeGame) ExpireTurn(_ context.Context, req *pb.ExpireTurnRequest) (*pb.Room, error) {
	g.record(req)
	return g.room(fakeExpireVersion), nil
}

// Join implements Game: every session may join every room.
func (g *fakeGame) Join(_ context.Context, req *pb.JoinRequest) (*pb.Room, error) {
	g.record(req)
	return g.room(fakeCreateVersion), nil
}

// Leave implements Game.
func (g *fakeGame) Leave(_ context.Context, req *pb.LeaveRequest) (*pb.Room, error) {
	g.record(req)
	return g.room(fakeCreateVersion), nil
}

// Cluster implements Game.
func (g *fakeGame) Cluster() *pb.ClusterStatus { return &pb.ClusterStatus{} }

// WatchCluster implements Game: nothing changes until ctx ends.
func (g *fakeGame) WatchCluster(ctx context.Context) <-chan *pb.ClusterStatus {
	return closeWhenDone[*pb.ClusterStatus](ctx)
}

// WatchRoom implements Game: nothing changes until ctx ends, so the only
// messages a socket gets are the answers to its own.
func (g *fakeGame) WatchRoom(ctx context.Context, _ string, _ uint64) (<-chan *pb.RoomEvent, error) {
	return closeWhenDone[*pb.RoomEvent](ctx), nil
}

// Online implements Game: nobody is online.
func (g *fakeGame) Online(context.Context, string) ([]*pb.PresenceEntry, error) { return nil, nil }

// ReportPresence implements Game: reports go nowhere.
func (g *fakeGame) ReportPresence(context.Context, *pb.PresenceReport) error { return nil }

// closeWhenDone returns a channel that delivers nothing and is closed
// when ctx ends, as a watch that sees no change.
func closeWhenDone[T any](ctx context.Context) <-chan T {
	ch := make(chan T)
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch
}

// fuzzPlayer is the session every fuzzed request comes from.
var fuzzPlayer = session.Session{}

// newFuzzHandlers returns handlers on a fakeGame that log nothing, and
// the token of a session they recognise (fuzzPlayer).
func newFuzzHandlers() (*Handlers, *fakeGame, string) {
	g := &fakeGame{}
	sessions, err := session.New(session.NewKey(), nil)
	if err != nil {
		panic(err)
	}
	s, token, err := sessions.Issue("ana é")
	if err != nil {
		panic(err)
	}
	fuzzPlayer = s
	return New(Config{ID: "f-fuzz", Game: g, Logger: slog.New(slog.DiscardHandler), Sessions: sessions}), g, token
}

// apiEndpoint is one JSON API write: its path, the body type its handler
// decodes, and the request that body must turn into.
type apiEndpoint struct {
	path string
	// body returns a new value of the endpoint's body type.
	body func() any
	// want returns the backend request the decoded body b must give:
	// its fields, with the room's id (compare with sameWrite).
	want func(b any) proto.Message
	// status is the answer to an accepted body.
	status int
}

// apiEndpoints are the JSON API's writes; the fuzz input picks one.
var apiEndpoints = []apiEndpoint{
	{
		path: "/api/rooms",
		body: func() any { return new(createRoomBody) },
		want: func(b any) proto.Message {
			c := b.(*createRoomBody)
			return &pb.CreateRoomRequest{
				Host: fuzzPlayer.Name, PlayerId: fuzzPlayer.ID, Category: c.Category, Difficulty: c.Difficulty, Word: c.Word, MaxLives: c.MaxLives, RequestId: c.RequestID,
				Rounds: c.Rounds, Private: c.Private, TurnSeconds: c.TurnSeconds,
			}
		},
		status: http.StatusCreated,
	},
	{
		path: "/api/rooms/" + fuzzRoomID + "/guesses",
		body: func() any { return new(guessBody) },
		want: func(b any) proto.Message {
			g := b.(*guessBody)
			return &pb.GuessRequest{RoomId: fuzzRoomID, Player: fuzzPlayer.Name, PlayerId: fuzzPlayer.ID, Letter: g.Letter, RequestId: g.RequestID, Round: g.Round}
		},
		status: http.StatusOK,
	},
	{
		path: "/api/rooms/" + fuzzRoomID + "/rounds",
		body: func() any { return new(nextRoundBody) },
		want: func(b any) proto.Message {
			n := b.(*nextRoundBody)
			return &pb.NextRoundRequest{RoomId: fuzzRoomID, Player: fuzzPlayer.Name, PlayerId: fuzzPlayer.ID, Round: n.Round, Match: n.Match, Word: n.Word}
		},
		status: http.StatusOK,
	},
	{
		path: "/api/rooms/" + fuzzRoomID + "/rematches",
		body: func() any { return new(rematchBody) },
		want: func(b any) proto.Message {
			m := b.(*rematchBody)
			return &pb.RematchRequest{RoomId: fuzzRoomID, Player: fuzzPlayer.Name, PlayerId: fuzzPlayer.ID, Match: m.Match, Word: m.Word}
		},
		status: http.StatusOK,
	},
	{
		path: "/api/rooms/" + fuzzRoomID + "/timeouts",
		body: func() any { return new(timeoutBody) },
		want: func(b any) proto.Message {
			return &pb.ExpireTurnRequest{RoomId: fuzzRoomID, Version: b.(*timeoutBody).Version}
		},
		status: http.StatusOK,
	},
}

// sameWrite reports whether the backend got the request want. A guess
// without a request id may get one made by the frontend ("srv-…") so that
// its retries stay idempotent; any such id matches an empty one.
func sameWrite(got, want proto.Message) bool {
	if g, ok := got.(*pb.GuessRequest); ok {
		if w, ok := want.(*pb.GuessRequest); ok && w.GetRequestId() == "" && strings.HasPrefix(g.GetRequestId(), "srv-") {
			w = proto.CloneOf(w)
			w.RequestId = g.GetRequestId()
			want = w
		}
	}
	return proto.Equal(got, want)
}

// FuzzAPIRequest posts an arbitrary body to one of the JSON API's writes
// (picked by endpoint) through the handlers, with a fake backend. The
// handler must never panic. A body decode refuses must be answered 400
// bad_request without reaching the backend; a body it accepts is one
// JSON value of at most maxBody bytes, re-encodes and decodes to the same
// value, and reaches the backend as exactly the request it describes.
func FuzzAPIRequest(f *testing.F) {
	for _, seed := range []struct {
		endpoint uint8
		body     string
	}{
		{0, `{"category":"animals","difficulty":"easy","max_lives":6,"request_id":"c-1"}`},
		{0, `{"word":"ox","rounds":3,"private":true,"turn_seconds":30}`},
		{0, `{"rounds":"3"}`},
		{0, `{"word":"shepherd's pie"}`},
		{0, `{"player":"ana","category":"animals"}`}, // the player is the session: an unknown field
		{0, `{"colour":"red"}`},                      // an unknown field
		{0, `{}`},
		{1, `{"letter":"e","request_id":"ana-1","round":2}`},
		{1, `{"player":"bo","letter":"E"}`},  // nobody guesses under another's name
		{1, `{"letter":"e"} {"letter":"f"}`}, // two values
		{1, `{"round":"2"}`},
		{1, `{"letter":"` + "\xff" + `","request_id":"\ud800\u00e9"}`},
		{2, `{"round":1,"word":"toast"}`},
		{2, `{"round":99999999999999999999}`},
		{2, `{"word":"` + strings.Repeat("a", maxBody) + `"}`}, // too big
		{2, ``},
		{2, `null`},
		{3, `{"match":1,"word":"toast"}`},
		{3, `{"match":1,"round":2}`}, // a rematch names no round
		{3, `{"match":4294967296}`},
		{4, `{"version":12}`},
		{4, `{"version":-1}`},
		{4, `{}`},
	} {
		f.Add(seed.endpoint, []byte(seed.body))
	}
	h, game, token := newFuzzHandlers()
	defer h.Close()
	f.Fuzz(func(t *testing.T, endpoint uint8, body []byte) {
		ep := apiEndpoints[int(endpoint)%len(apiEndpoints)]
		game.takeWrites()
		post := func() *http.Request {
			req := httptest.NewRequest(http.MethodPost, ep.path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			return req
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, post())
		writes := game.takeWrites()

		decoded := ep.body()
		err := decode(httptest.NewRecorder(), post(), decoded)
		if err != nil {
			var answer apiError
			if !errors.Is(err, errBadRequest) || rec.Code != http.StatusBadRequest ||
				json.Unmarshal(rec.Body.Bytes(), &answer) != nil || answer.Error.Code != "bad_request" || len(writes) > 0 {
				t.Fatalf("refused body (%v) answered %d %s, %d writes sent", err, rec.Code, abbrev(rec.Body.Bytes()), len(writes))
			}
			return
		}
		if len(body) > maxBody || !json.Valid(body) {
			t.Fatalf("accepted a body of %d bytes that is not one JSON value of at most %d: %s", len(body), maxBody, abbrev(body))
		}
		var room Room
		if rec.Code != ep.status || json.Unmarshal(rec.Body.Bytes(), &room) != nil || room.ID != fuzzRoomID {
			t.Fatalf("accepted body answered %d %s", rec.Code, abbrev(rec.Body.Bytes()))
		}
		if want := ep.want(decoded); len(writes) != 1 || !sameWrite(writes[0], want) {
			t.Fatalf("body %s reached the backend as %s, want %s", abbrev(body), abbrev(writes), abbrev(want))
		}

		reencoded, err := json.Marshal(decoded)
		if err != nil {
			t.Fatal(err)
		}
		// Not through decode: the re-encoding spells out every field, so
		// it may outgrow maxBody, a limit of the transport, not the value.
		again := ep.body()
		if err := json.Unmarshal(reencoded, again); err != nil || !reflect.DeepEqual(again, decoded) {
			t.Fatalf("%s re-encoded as %s decodes to %s, %v", abbrev(decoded), abbrev(reencoded), abbrev(again), err)
		}
	})
}

// abbrev formats v (a string or []byte as a quoted string, anything else
// with %+v), cut to a few hundred bytes: fuzz inputs can be long, and a
// failure should still fit on a screen.
func abbrev(v any) string {
	var s string
	switch v := v.(type) {
	case []byte:
		s = strconv.Quote(string(v))
	case string:
		s = strconv.Quote(v)
	default:
		s = fmt.Sprintf("%+v", v)
	}
	const limit = 300
	if len(s) > limit {
		return s[:limit] + fmt.Sprintf("… (%d bytes)", len(s))
	}
	return s
}

// wsAnswer is any message a tab gets in answer to its own.
type wsAnswer struct {
	Type      string `json:"type"`
	RequestID string `json:"request_id"`
	Version   uint64 `json:"version"`
	Code      string `json:"code"`
	Message   string `json:"message"`
}

// FuzzWSMessage sends an arbitrary text message over a room's websocket,
// a new socket for each (each socket has its own rate limit), to handlers
// with a fake backend. The frontend must never panic and must answer every
// message of at most the read limit with one ack or error
// (docs/PROTOCOL.md): one that is not a JSON message object gets
// bad_request with no request id; any other carries its request_id back,
// and a guess, next_round, rematch or timeout reaches the backend as
// exactly the request it describes, from the socket's session. Anything accepted re-encodes and
// decodes to the same message. A bigger message closes the socket with
// 1009 (message too big).
func FuzzWSMessage(f *testing.F) {
	for _, msg := range []string{
		`{"type":"guess","letter":"e","request_id":"t3k9-7","round":3}`,
		`{"type":"guess","letter":"E"}`,
		`{"type":"next_round","round":3,"request_id":"t3k9-8"}`,
		`{"type":"rematch","match":1,"request_id":"t3k9-9"}`,
		`{"type":"next_round","round":1,"word":"toast","request_id":"t3k9-11"}`,
		`{"type":"rematch","match":2,"word":"jam"}`,
		`{"type":"timeout","version":41,"request_id":"t3k9-10"}`,
		`{"type":"timeout","version":"41"}`,
		`{"type":"dance","request_id":"x"}`,
		`{"type":"guess","round":"3"}`,
		`{"type":"guess","letter":"` + "\xff" + `","request_id":"\u00e9\ud800"}`,
		`[1,2,3]`,
		`null`,
		``,
		`{"type":"guess","letter":"` + strings.Repeat("a", 1100) + `"}`,
	} {
		f.Add([]byte(msg))
	}
	h, game, token := newFuzzHandlers()
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close()
	header := http.Header{"Cookie": {session.Cookie + "=" + token}}
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws/rooms/" + fuzzRoomID

	f.Fuzz(func(t *testing.T, msg []byte) {
		game.takeWrites()
		ws, resp, err := websocket.DefaultDialer.Dial(wsURL, header)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		_ = resp.Body.Close()
		defer ws.Close()
		// The socket's session joined the room as it opened.
		if w := game.takeWrites(); len(w) != 1 || !proto.Equal(w[0], &pb.JoinRequest{RoomId: fuzzRoomID, Player: fuzzPlayer.Name, PlayerId: fuzzPlayer.ID}) {
			t.Fatalf("opening the socket sent %s, want the session's join", abbrev(w))
		}
		_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		if err := ws.WriteMessage(websocket.TextMessage, msg); err != nil {
			t.Fatalf("write: %v", err)
		}
		_, data, err := ws.ReadMessage()
		if len(msg) > hub.DefaultReadLimit {
			if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
				t.Fatalf("a message of %d bytes got %s, %v; want close 1009", len(msg), abbrev(data), err)
			}
			return
		}
		if err != nil {
			t.Fatalf("no answer to %s: %v", abbrev(msg), err)
		}
		var answer wsAnswer
		if err := json.Unmarshal(data, &answer); err != nil {
			t.Fatalf("answer %s is not JSON: %v", abbrev(data), err)
		}
		writes := game.takeWrites()

		var in wsIn
		if err := json.Unmarshal(msg, &in); err != nil {
			if answer.Type != "error" || answer.Code != "bad_request" || answer.RequestID != "" || len(writes) > 0 {
				t.Fatalf("%s (%v) answered %s with %d writes", abbrev(msg), err, abbrev(data), len(writes))
			}
			return
		}
		if answer.RequestID != in.RequestID {
			t.Fatalf("%s answered with request id %s, want %s", abbrev(msg), abbrev(answer.RequestID), abbrev(in.RequestID))
		}
		var want proto.Message
		var version uint64
		switch in.Type {
		case "guess":
			want = &pb.GuessRequest{RoomId: fuzzRoomID, Player: fuzzPlayer.Name, PlayerId: fuzzPlayer.ID, Letter: in.Letter, RequestId: in.RequestID, Round: in.Round, Brief: true}
			version = fakeGuessVersion
		case "next_round":
			want = &pb.NextRoundRequest{RoomId: fuzzRoomID, Player: fuzzPlayer.Name, PlayerId: fuzzPlayer.ID, Round: in.Round, Match: in.Match, Word: in.Word}
			version = fakeNextVersion
		case "rematch":
			want = &pb.RematchRequest{RoomId: fuzzRoomID, Player: fuzzPlayer.Name, PlayerId: fuzzPlayer.ID, Match: in.Match, Word: in.Word}
			version = fakeRematchVersion
		case "timeout":
			want = &pb.ExpireTurnRequest{RoomId: fuzzRoomID, Version: in.Version}
			version = fakeExpireVersion
		default:
			if answer.Type != "error" || answer.Code != "bad_request" || len(writes) > 0 {
				t.Fatalf("message of type %s answered %s with %d writes", abbrev(in.Type), abbrev(data), len(writes))
			}
		}
		if want != nil {
			if answer.Type != "ack" || answer.Version != version {
				t.Fatalf("%s answered %s, want an ack of version %d", abbrev(msg), abbrev(data), version)
			}
			if len(writes) != 1 || !sameWrite(writes[0], want) {
				t.Fatalf("%s reached the backend as %s, want %s", abbrev(msg), abbrev(writes), abbrev(want))
			}
		}

		reencoded, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var again wsIn
		if err := json.Unmarshal(reencoded, &again); err != nil || again != in {
			t.Fatalf("%s re-encoded as %s decodes to %s, %v", abbrev(in), abbrev(reencoded), abbrev(again), err)
		}
	})
}
