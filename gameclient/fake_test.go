package gameclient_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gallows-game/gallows/gameclient"
	"github.com/gallows-game/gallows/internal/localcluster/localtest"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// fakeGame answers each guess of a batch on its GuessStream with "no
// quorum" a set number of times, then with a hit; the letter "7" is
// refused as invalid.
type fakeGame struct {
	pb.UnimplementedGameServer
	mu         sync.Mutex
	noQuorum   int // answers left to refuse; negative: refuse forever
	requestIDs []string
}

// answer is the answer to one guess: a reply, or the error a backend
// would give the guess as a status.
func (f *fakeGame) answer(req *pb.GuessRequest) (*pb.GuessReply, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requestIDs = append(f.requestIDs, req.GetRequestId())
	if req.GetLetter() == "7" {
		return nil, reasonError(codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_INVALID_LETTER)
	}
	if f.noQuorum != 0 {
		f.noQuorum--
		return nil, reasonError(codes.Unavailable, pb.ErrorReason_ERROR_REASON_NO_QUORUM)
	}
	return &pb.GuessReply{Room: &pb.Room{Id: req.GetRoomId(), Version: 2}, Hit: true}, nil
}

// CreateRoom answers as a guess is answered: "no quorum" while noQuorum
// says so, then a new room.
func (f *fakeGame) CreateRoom(_ context.Context, req *pb.CreateRoomRequest) (*pb.RoomReply, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requestIDs = append(f.requestIDs, req.GetRequestId())
	if f.noQuorum != 0 {
		f.noQuorum--
		return nil, reasonError(codes.Unavailable, pb.ErrorReason_ERROR_REASON_NO_QUORUM)
	}
	return &pb.RoomReply{Room: &pb.Room{Id: "ABCDE", Version: 1}}, nil
}

// batch answers each guess of a batch on its own, at its position, as
// backends do.
func (f *fakeGame) batch(_ context.Context, req *pb.GuessBatchRequest) (*pb.GuessBatchReply, error) {
	rep := &pb.GuessBatchReply{}
	for _, g := range req.GetGuesses() {
		r, err := f.answer(g)
		if err != nil {
			st, _ := status.FromError(err)
			rep.Outcomes = append(rep.Outcomes, &pb.GuessOutcome{Result: &pb.GuessOutcome_Error{Error: &pb.Error{
				Code: uint32(st.Code()), Message: st.Message(), Reason: gameclient.Reason(err),
			}}})
			continue
		}
		rep.Outcomes = append(rep.Outcomes, &pb.GuessOutcome{Result: &pb.GuessOutcome_Reply{Reply: r}})
	}
	return rep, nil
}

// GuessStream answers each batch received on the stream (see batch).
func (f *fakeGame) GuessStream(stream pb.Game_GuessStreamServer) error {
	return serveGuessStream(stream, f.batch)
}

// serveGuessStream answers every batch received on stream with batch, each
// in its own goroutine, tagged with the batch's id.
func serveGuessStream(stream pb.Game_GuessStreamServer, batch func(context.Context, *pb.GuessBatchRequest) (*pb.GuessBatchReply, error)) error {
	var mu sync.Mutex // serializes Send
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		wg.Go(func() {
			rep, err := batch(stream.Context(), req)
			if err != nil {
				return // the stream is ending
			}
			rep.Id = req.GetId()
			mu.Lock()
			defer mu.Unlock()
			_ = stream.Send(rep)
		})
	}
}

func (f *fakeGame) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requestIDs...)
}

func reasonError(code codes.Code, reason pb.ErrorReason) error {
	st, err := status.New(code, reason.String()).WithDetails(&errdetails.ErrorInfo{Domain: pb.ErrorDomain, Reason: reason.String()})
	if err != nil {
		panic(err)
	}
	return st.Err()
}

// startFake serves f on a loopback port until the test ends.
func startFake(t *testing.T, f *fakeGame) string {
	t.Helper()
	return startServer(t, f)
}

// startServer serves srv on a loopback port until the test ends.
func startServer(t *testing.T, srv pb.GameServer) string {
	t.Helper()
	addr, _ := serveGame(t, srv)
	return addr
}

// serveGame serves srv on a loopback port until stop is called or the test
// ends, and returns its address.
func serveGame(t *testing.T, srv pb.GameServer) (addr string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	pb.RegisterGameServer(s, srv)
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
	return ln.Addr().String(), s.Stop
}

func fakeClient(t *testing.T, rec *recorder, timeout time.Duration, addrs ...string) *gameclient.Client {
	t.Helper()
	c, err := gameclient.New(gameclient.Config{
		Backends: addrs, Logger: localtest.Logger(), Recorder: rec,
		Timeout: timeout, AttemptTimeout: 2 * time.Second,
		HedgeAfter: -1, // the tests count attempts: a slow answer on a busy machine must not add one
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestWriteRetriesSameRequestAcrossBackends(t *testing.T) {
	f := &fakeGame{noQuorum: 3}
	dead := deadAddr(t) // nothing listens there
	rec := &recorder{}
	c := fakeClient(t, rec, 5*time.Second, dead, startFake(t, f))
	ctx := localtest.Context(t, 10*time.Second)

	reply, err := c.Guess(ctx, &pb.GuessRequest{RoomId: "ABCDE", Player: "bo", PlayerId: gameclient.BotPlayerID("bo"), Letter: "e", RequestId: "bo-e"})
	if err != nil {
		t.Fatalf("guess: %v", err)
	}
	if !reply.GetHit() {
		t.Fatalf("reply = %v", reply)
	}
	attempts := rec.guessAttempts("bo-e")
	nodes := map[string]bool{}
	for _, op := range attempts {
		nodes[op.Node] = true
	}
	if len(attempts) < 4 || !nodes[dead] || len(nodes) != 2 {
		t.Fatalf("%d attempts on %v; want at least 4, on both backends", len(attempts), nodes)
	}
	for _, id := range f.seen() {
		if id != "bo-e" {
			t.Fatalf("the backend saw request ids %v, want bo-e only", f.seen())
		}
	}
}

// A create without a request id gets one, and keeps it on every retry, so
// the backends create one room however often it is sent.
func TestCreateRoomRetriesSameRequest(t *testing.T) {
	f := &fakeGame{noQuorum: 2}
	c := fakeClient(t, &recorder{}, 5*time.Second, startFake(t, f))
	req := &pb.CreateRoomRequest{Host: "bo", PlayerId: gameclient.BotPlayerID("bo"), Category: "animals"}
	room, err := c.CreateRoom(localtest.Context(t, 10*time.Second), req)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if room.GetId() != "ABCDE" {
		t.Fatalf("room = %v", room)
	}
	if req.GetRequestId() != "" {
		t.Fatalf("the caller's request was modified: %v", req)
	}
	ids := f.seen()
	if len(ids) != 3 || ids[0] == "" || ids[1] != ids[0] || ids[2] != ids[0] {
		t.Fatalf("the backend saw request ids %q; want three times one id", ids)
	}
}

func TestWriteGivesUpAfterTimeout(t *testing.T) {
	f := &fakeGame{noQuorum: -1}
	rec := &recorder{}
	c := fakeClient(t, rec, 300*time.Millisecond, startFake(t, f))
	start := time.Now()
	_, err := c.Guess(localtest.Context(t, 10*time.Second), &pb.GuessRequest{RoomId: "ABCDE", Player: "bo", PlayerId: gameclient.BotPlayerID("bo"), Letter: "e", RequestId: "bo-e"})
	elapsed := time.Since(start)
	if status.Code(err) != codes.Unavailable || gameclient.Reason(err) != pb.ErrorReason_ERROR_REASON_NO_QUORUM {
		t.Fatalf("err = %v, want Unavailable NO_QUORUM", err)
	}
	if elapsed > 2*time.Second || len(rec.guessAttempts("bo-e")) < 2 {
		t.Fatalf("gave up after %v and %d attempts; want several attempts within about 300ms", elapsed, len(rec.guessAttempts("bo-e")))
	}
}

func TestWriteErrorIsAnAnswer(t *testing.T) {
	f := &fakeGame{}
	rec := &recorder{}
	c := fakeClient(t, rec, 5*time.Second, startFake(t, f))
	_, err := c.Guess(localtest.Context(t, 10*time.Second), &pb.GuessRequest{RoomId: "ABCDE", Player: "bo", PlayerId: gameclient.BotPlayerID("bo"), Letter: "7", RequestId: "bo-7"})
	if status.Code(err) != codes.InvalidArgument || gameclient.Reason(err) != pb.ErrorReason_ERROR_REASON_INVALID_LETTER {
		t.Fatalf("err = %v, want InvalidArgument INVALID_LETTER", err)
	}
	if n := len(rec.guessAttempts("bo-7")); n != 1 {
		t.Fatalf("%d attempts, want 1", n)
	}
}

func TestCloseEndsWatches(t *testing.T) {
	c, err := gameclient.New(gameclient.Config{Backends: []string{deadAddr(t)}, Logger: localtest.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	statuses := c.WatchCluster(context.Background())
	if st := c.Cluster(); st == nil || st.GetLeaderId() != "" {
		t.Fatalf("Cluster() before any status = %v, want an empty status", st)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, ok := <-statuses; ok {
		t.Fatal("cluster watch delivered a status from nowhere")
	}
	if _, err := c.GetRoom(context.Background(), "ABCDE"); !errors.Is(err, gameclient.ErrClosed) {
		t.Fatalf("GetRoom after Close: err = %v, want ErrClosed", err)
	}
	if _, err := c.WatchRoom(context.Background(), "ABCDE", 0); !errors.Is(err, gameclient.ErrClosed) {
		t.Fatalf("WatchRoom after Close: err = %v, want ErrClosed", err)
	}
	if ch := c.WatchCluster(context.Background()); ch != nil {
		if _, ok := <-ch; ok {
			t.Fatal("WatchCluster after Close delivered a status")
		}
	}
}

// roundGame is a room in round 3 whose first NextRound answer is lost.
type roundGame struct {
	pb.UnimplementedGameServer
	mu     sync.Mutex
	rounds []int64 // the Round of each NextRound request
}

func (g *roundGame) GetRoom(_ context.Context, req *pb.GetRoomRequest) (*pb.RoomReply, error) {
	return &pb.RoomReply{Room: &pb.Room{Id: req.GetRoomId(), Round: 3, Version: 9}}, nil
}

func (g *roundGame) NextRound(_ context.Context, req *pb.NextRoundRequest) (*pb.RoomReply, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rounds = append(g.rounds, req.GetRound())
	if len(g.rounds) == 1 {
		return nil, status.Error(codes.Unavailable, "the reply was lost")
	}
	return &pb.RoomReply{Room: &pb.Room{Id: req.GetRoomId(), Round: 4, Version: 10}}, nil
}

// A NextRound for "the round now" (Round 0) is pinned to the room's round
// before it is sent, so that its retry cannot end a second round.
func TestNextRoundPinsTheRoundBeforeSending(t *testing.T) {
	g := &roundGame{}
	c := fakeClient(t, &recorder{}, 5*time.Second, startServer(t, g))
	room, err := c.NextRound(context.Background(), &pb.NextRoundRequest{RoomId: "ABCDE", Player: "ana", PlayerId: gameclient.BotPlayerID("ana")})
	if err != nil {
		t.Fatalf("next round: %v", err)
	}
	if room.GetRound() != 4 {
		t.Errorf("round %d after the call, want 4", room.GetRound())
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.rounds) != 2 || g.rounds[0] != 3 || g.rounds[1] != 3 {
		t.Fatalf("NextRound requests for rounds %v, want [3 3]", g.rounds)
	}
}

// deadAddr returns a loopback address whose port was free a moment ago:
// nothing listens there.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
