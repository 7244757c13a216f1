package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/gallows-game/gallows/backend/game"
	"github.com/gallows-game/gallows/backend/internal/proxy"
	"github.com/gallows-game/gallows/backend/internal/store"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// watchBuffer is how many changes a watch stream may fall behind before it
// is ended (the client resubscribes from its last version).
const watchBuffer = 1024

type gameService struct {
	pb.UnimplementedGameServer
	cfg   Config
	proxy *proxy.Proxy
	relay *relay
	drain *drain
}

// RoomToProto is what may be shown of a room: the word only once the round
// is over.
func RoomToProto(r *game.Room) *pb.Room {
	out := briefRoom(r)
	// One allocation for all players and one for all log entries: a reply
	// to every guess carries the room.
	// A room shows each player's points of the match it plays.
	players := make([]pb.Player, len(r.Players))
	out.Players = make([]*pb.Player, len(r.Players))
	for i, p := range r.Players {
		players[i].Name, players[i].Points = p.Name, int64(p.MatchPoints)
		out.Players[i] = &players[i]
	}
	entries := make([]pb.LogEntry, len(r.Log))
	out.Log = make([]*pb.LogEntry, len(r.Log))
	for i, e := range r.Log {
		entries[i].Player, entries[i].Letter, entries[i].Hit, entries[i].Version = e.Player, e.Letter, e.Hit, e.Version
		entries[i].Timeout = e.Timeout
		out.Log[i] = &entries[i]
	}
	return out
}

// briefRoom is RoomToProto without the players and the log.
func briefRoom(r *game.Room) *pb.Room {
	out := &pb.Room{
		Id:              r.Code,
		Version:         r.Version,
		Round:           int64(r.Round),
		Status:          statusToProto(r.Status),
		Masked:          r.Masked(),
		LivesLeft:       int64(r.LivesLeft),
		MaxLives:        int64(r.MaxLives),
		Guessed:         append([]string(nil), r.Guessed...),
		Wrong:           append([]string(nil), r.Wrong...),
		Category:        r.Category,
		Difficulty:      string(r.Difficulty),
		Custom:          r.Custom,
		Host:            r.Host,
		CreatedAtUnixMs: r.CreatedAt,
		UpdatedAtUnixMs: r.UpdatedAt,

		Rounds:             int32(r.Rounds),
		Private:            r.Private,
		TurnSeconds:        int32(r.TurnSeconds),
		TurnDeadlineUnixMs: r.TurnDeadline(),
		MatchOver:          r.MatchOver(),
		Match:              int32(r.Match),
	}
	if r.Over() {
		out.Word = r.Word
	}
	return out
}

func statusToProto(s game.Status) pb.RoundStatus {
	switch s {
	case game.Playing:
		return pb.RoundStatus_ROUND_STATUS_PLAYING
	case game.Won:
		return pb.RoundStatus_ROUND_STATUS_WON
	case game.Lost:
		return pb.RoundStatus_ROUND_STATUS_LOST
	default:
		return pb.RoundStatus_ROUND_STATUS_UNSPECIFIED
	}
}

// read makes this node's state fresh enough for a read at level: for a
// linearizable read (the default), it reflects every write acknowledged
// before the call; for a stale one, whatever this node has applied.
func (g *gameService) read(ctx context.Context, level pb.ReadLevel) error {
	switch level {
	case pb.ReadLevel_READ_LEVEL_UNSPECIFIED, pb.ReadLevel_READ_LEVEL_LINEARIZABLE:
		return g.proxy.Read(ctx)
	case pb.ReadLevel_READ_LEVEL_STALE:
		return nil
	}
	return withReason(codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_BAD_REQUEST, fmt.Sprintf("unknown read level %d", level))
}

func (g *gameService) GetRoom(ctx context.Context, req *pb.GetRoomRequest) (*pb.RoomReply, error) {
	code := game.NormalizeRoomCode(req.GetRoomId())
	if err := g.read(ctx, req.GetLevel()); err != nil {
		return nil, toStatus(err)
	}
	if err := g.cfg.Store.WaitRoomVersion(ctx, code, req.GetMinVersion()); err != nil {
		return nil, toStatus(err)
	}
	r, ok := g.cfg.Store.Room(code)
	if !ok {
		return nil, toStatus(fmt.Errorf("%w: %q", game.ErrUnknownRoom, req.GetRoomId()))
	}
	return &pb.RoomReply{Room: RoomToProto(r)}, nil
}

// MaxListLimit is the largest page ListRooms answers.
const MaxListLimit = 1000

// ListRooms answers a page of rooms, ordered by code, after the request's
// cursor (the code of the last room of the page before), all read at one
// point of the log at the request's level. Private rooms are never
// listed: they are reached by code.
func (g *gameService) ListRooms(ctx context.Context, req *pb.ListRoomsRequest) (*pb.ListRoomsReply, error) {
	limit, cursor := int(req.GetLimit()), req.GetCursor()
	if limit < 0 || limit > MaxListLimit {
		return nil, withReason(codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_BAD_REQUEST,
			fmt.Sprintf("limit %d: want 1 to %d (or 0 for every room)", limit, MaxListLimit))
	}
	if cursor != "" && !game.ValidRoomCode(cursor) {
		return nil, withReason(codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_BAD_REQUEST,
			fmt.Sprintf("cursor %q: not a cursor of a page of rooms", cursor))
	}
	want := req.GetStatus()
	keep := func(r *game.Room) bool {
		return !r.Private && (want == pb.RoundStatus_ROUND_STATUS_UNSPECIFIED || statusToProto(r.Status) == want)
	}
	if err := g.read(ctx, req.GetLevel()); err != nil {
		return nil, toStatus(err)
	}
	rooms, more := g.cfg.Store.RoomsPage(game.NormalizeRoomCode(cursor), limit, keep)
	out := &pb.ListRoomsReply{Rooms: make([]*pb.Room, 0, len(rooms))}
	for _, r := range rooms {
		out.Rooms = append(out.Rooms, RoomToProto(r))
	}
	if more {
		out.NextCursor = rooms[len(rooms)-1].Code
	}
	return out, nil
}

func (g *gameService) Categories(context.Context, *pb.CategoriesRequest) (*pb.CategoriesReply, error) {
	return &pb.CategoriesReply{
		Categories:   game.Categories(),
		Difficulties: []string{string(game.Easy), string(game.Medium), string(game.Hard)},
	}, nil
}

// needPlayerID refuses a write without a player id: every write says which
// player gives it (the game refuses such a command too, as invalid; this
// says so before the write goes anywhere).
func needPlayerID(id string) error {
	if id == "" {
		return withReason(codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_BAD_REQUEST,
			"player_id is required: every write says which player gives it")
	}
	return nil
}

// needRequestID refuses a write without a request id. A write may be sent
// twice on its way to the leader (see proxy.Proxy.Write), and the id makes
// the second get the first's answer instead of being applied again, or
// refused as a guess already made. Clients mint ids (gameclient does for
// its callers); backends do not.
func needRequestID(id string) error {
	if id == "" {
		return withReason(codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_BAD_REQUEST,
			"request_id is required: it makes sending the request again safe")
	}
	return nil
}

func (g *gameService) CreateRoom(ctx context.Context, req *pb.CreateRoomRequest) (*pb.RoomReply, error) {
	if err := needRequestID(req.GetRequestId()); err != nil {
		return nil, err
	}
	if err := needPlayerID(req.GetPlayerId()); err != nil {
		return nil, err
	}
	return g.writeRoom(ctx, func(context.Context) (game.Command, error) { return g.newRoom(req) },
		func(ctx context.Context, c pb.GameClient) (*pb.RoomReply, error) { return c.CreateRoom(ctx, req) })
}

// newRoom is run by the leader: it picks the code and the word.
func (g *gameService) newRoom(req *pb.CreateRoomRequest) (game.CreateRoom, error) {
	cmd := game.CreateRoom{
		Host: req.GetHost(), HostID: req.GetPlayerId(), MaxLives: int(req.GetMaxLives()), RequestID: req.GetRequestId(),
		Rounds: int(req.GetRounds()), Private: req.GetPrivate(), TurnSeconds: int(req.GetTurnSeconds()), At: g.cfg.Now().UnixMilli(),
	}
	if req.GetWord() != "" {
		cmd.Custom, cmd.Category, cmd.Word = true, "custom", req.GetWord()
	} else {
		d, err := game.ParseDifficulty(req.GetDifficulty())
		if err != nil {
			return cmd, err
		}
		w, err := game.PickWord(req.GetCategory(), d, g.cfg.Rand)
		if err != nil {
			return cmd, err
		}
		cmd.Category, cmd.Difficulty, cmd.Word = req.GetCategory(), d, w
	}
	for range 16 {
		cmd.Code = game.NewRoomCode(g.cfg.Rand)
		if _, taken := g.cfg.Store.Room(cmd.Code); !taken {
			return cmd, nil
		}
	}
	return cmd, errors.New("rpc: could not find a free room code")
}

// guessCommand is the command of a guess request, stamped with at (unix ms).
func guessCommand(req *pb.GuessRequest, at int64) game.Guess {
	return game.Guess{
		Room: game.NormalizeRoomCode(req.GetRoomId()), Player: req.GetPlayer(), PlayerID: req.GetPlayerId(), Letter: req.GetLetter(),
		RequestID: req.GetRequestId(), Round: int(req.GetRound()), At: at,
	}
}

// guessReply answers req with res, the outcome of the applied guess: the
// room whole, or brief if req asks.
func guessReply(req *pb.GuessRequest, res store.Result) *pb.GuessReply {
	room := briefRoom
	if !req.GetBrief() {
		room = RoomToProto
	}
	return &pb.GuessReply{Room: room(res.Room), Hit: res.Hit}
}

// leaderGone reports whether err says this node is no longer the leader it
// was: the write is to be tried again, on the leader (same request ids).
func leaderGone(err error) bool {
	return errors.Is(err, store.ErrNotLeader) || errors.Is(err, store.ErrLeadershipLost)
}

// checkBatch refuses a batch with too few or too many guesses.
func checkBatch(guesses []*pb.GuessRequest) error {
	if len(guesses) == 0 || len(guesses) > pb.MaxGuessBatch {
		return withReason(codes.InvalidArgument, pb.ErrorReason_ERROR_REASON_BAD_REQUEST,
			fmt.Sprintf("a batch holds 1 to %d guesses, got %d", pb.MaxGuessBatch, len(guesses)))
	}
	return nil
}

// guessCommands are the commands of the guesses at the positions pending.
func (g *gameService) guessCommands(guesses []*pb.GuessRequest, pending []int) []game.Command {
	at := g.cfg.Now().UnixMilli()
	cmds := make([]game.Command, len(pending))
	for j, i := range pending {
		cmds[j] = guessCommand(guesses[i], at)
	}
	return cmds
}

// fillOutcomes answers in out the guesses at the positions pending from
// the store's results and errors for their commands, and returns the
// positions whose guesses met a leader change while committing: those are
// to be tried again, on the leader (same request ids).
func fillOutcomes(guesses []*pb.GuessRequest, out []*pb.GuessOutcome, pending []int, res []store.Result, errs []error) []int {
	var again []int
	for j, i := range pending {
		switch err := errs[j]; {
		case leaderGone(err):
			again = append(again, i)
		case err != nil:
			out[i] = errorOutcome(err)
		default:
			out[i] = &pb.GuessOutcome{Result: &pb.GuessOutcome_Reply{Reply: guessReply(guesses[i], res[j])}}
		}
	}
	return again
}

// answerBatch answers the guesses at the positions pending, here if this
// node leads and otherwise on the leader; out holds the answers of the
// others already. A guess that meets a leader change is tried again on
// the next leader until ctx ends.
func (g *gameService) answerBatch(ctx context.Context, guesses []*pb.GuessRequest, out []*pb.GuessOutcome, pending []int) (*pb.GuessBatchReply, error) {
	err := g.write(ctx, func(ctx context.Context) error {
		res, errs := g.cfg.Store.ApplyAll(ctx, g.guessCommands(guesses, pending))
		if pending = fillOutcomes(guesses, out, pending, res, errs); len(pending) > 0 {
			return store.ErrLeadershipLost
		}
		return nil
	}, func(ctx context.Context, cc grpc.ClientConnInterface) error {
		fwd := &pb.GuessBatchRequest{Guesses: make([]*pb.GuessRequest, len(pending))}
		for j, i := range pending {
			fwd.Guesses[j] = guesses[i]
		}
		rep, err := g.relay.batch(ctx, cc, fwd)
		if err != nil {
			return err
		}
		if len(rep.GetOutcomes()) != len(pending) {
			return status.Errorf(codes.Internal, "leader answered %d guesses of %d", len(rep.GetOutcomes()), len(pending))
		}
		// Guesses the leader could not get committed (it lost leadership
		// while committing them) are retried, as a forwarded Guess is.
		var again []int
		for j, i := range pending {
			o := rep.GetOutcomes()[j]
			if codes.Code(o.GetError().GetCode()) == codes.Unavailable {
				again = append(again, i)
			}
			out[i] = o
		}
		pending = again
		if len(pending) > 0 {
			return status.Error(codes.Unavailable, "the leader lost leadership while committing guesses")
		}
		return nil
	})
	if err != nil {
		if len(pending) == len(guesses) {
			return nil, err
		}
		// Some guesses were answered before the rest ran out of time: they
		// keep their answers, the rest get the error.
		for _, i := range pending {
			out[i] = errorOutcome(err)
		}
	}
	return &pb.GuessBatchReply{Outcomes: out}, nil
}

// streamBatchesInflight is how many batches of one GuessStream are
// handled at once; the stream is not read further until one is answered.
const streamBatchesInflight = 64

// GuessStream answers every batch received on the stream, concurrently,
// and sends each answer as soon as it is ready. On the leader, the
// reading goroutine proposes a batch itself and the store
// hands its outcomes straight to the sender, with no goroutine per batch
// in between: that is the path of nearly every guess.
func (g *gameService) GuessStream(stream pb.Game_GuessStreamServer) error {
	ctx := stream.Context()
	// One goroutine sends the answers, so that a client slow to read holds
	// up only its own stream, never the store's goroutine that answers a
	// batch. replies has room for every batch in flight, so handing an
	// answer over never blocks; after the first failed Send the rest are
	// dropped.
	replies := make(chan *pb.GuessBatchReply, streamBatchesInflight)
	slots := make(chan struct{}, streamBatchesInflight)
	sent := make(chan error, 1)
	go func() {
		var err error
		for rep := range replies {
			if err == nil {
				err = stream.Send(rep)
			}
			<-slots
			g.drain.end()
		}
		sent <- err
	}()
	var inflight sync.WaitGroup
	stop := func() error {
		inflight.Wait()
		close(replies)
		return <-sent
	}
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stop() // every batch has sent its answer (or failed to)
		}
		if err != nil {
			// The stream is broken: the reason is err, and a failed Send
			// after it says no more.
			_ = stop()
			return err
		}
		slots <- struct{}{}
		inflight.Add(1)
		g.drain.begin() // until its answer is sent
		if g.drain.draining.Load() {
			rep := errorReply(len(req.GetGuesses()), errDraining)
			rep.Id = req.GetId()
			replies <- rep
			inflight.Done()
			continue
		}
		g.streamBatch(ctx, req, func(rep *pb.GuessBatchReply) {
			rep.Id = req.GetId()
			replies <- rep
			inflight.Done()
		})
	}
}

// streamBatch answers one batch of a GuessStream through answer, called
// once. On the leader the batch is proposed from this goroutine and
// answered from the store's; what needs a leader change or a forward to
// the leader is answered from a goroutine of its own (answerBatch).
func (g *gameService) streamBatch(ctx context.Context, req *pb.GuessBatchRequest, answer func(*pb.GuessBatchReply)) {
	guesses := req.GetGuesses()
	if err := checkBatch(guesses); err != nil {
		answer(errorReply(len(guesses), err))
		return
	}
	out := make([]*pb.GuessOutcome, len(guesses))
	all := make([]int, 0, len(guesses)) // the guesses with request and player ids
	for i, req := range guesses {
		if err := needRequestID(req.GetRequestId()); err != nil {
			out[i] = errorOutcome(err)
			continue
		}
		if err := needPlayerID(req.GetPlayerId()); err != nil {
			out[i] = errorOutcome(err)
			continue
		}
		all = append(all, i)
	}
	if len(all) == 0 {
		answer(&pb.GuessBatchReply{Outcomes: out})
		return
	}
	slow := func(pending []int) {
		timeout := pb.MaxBatchTimeout
		if t := time.Duration(req.GetTimeoutMs()) * time.Millisecond; t > 0 && t < timeout {
			timeout = t
		}
		bctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		rep, err := g.answerBatch(bctx, guesses, out, pending)
		if err != nil {
			rep = errorReply(len(guesses), err)
		}
		answer(rep)
	}
	if !g.cfg.Store.IsLeader() {
		go slow(all)
		return
	}
	g.cfg.Store.ProposeAll(ctx, g.guessCommands(guesses, all), func(res []store.Result, errs []error) {
		if again := fillOutcomes(guesses, out, all, res, errs); len(again) > 0 {
			// This node lost leadership while committing them.
			go slow(again)
			return
		}
		answer(&pb.GuessBatchReply{Outcomes: out})
	})
}

// errorReply answers each of n guesses with err.
func errorReply(n int, err error) *pb.GuessBatchReply {
	rep := &pb.GuessBatchReply{Outcomes: make([]*pb.GuessOutcome, n)}
	for i := range rep.Outcomes {
		rep.Outcomes[i] = errorOutcome(err)
	}
	return rep
}

func (g *gameService) NextRound(ctx context.Context, req *pb.NextRoundRequest) (*pb.RoomReply, error) {
	if err := needPlayerID(req.GetPlayerId()); err != nil {
		return nil, err
	}
	// "The round now" (round 0) is pinned where the request comes in, on
	// a linearizable read, so that retries, here or on the leader, cannot
	// end a second round. (The game client pins it before it sends.)
	if req.GetRound() == 0 {
		if err := g.proxy.Read(ctx); err != nil {
			return nil, toStatus(err)
		}
		if room, ok := g.cfg.Store.Room(game.NormalizeRoomCode(req.GetRoomId())); ok {
			req = proto.CloneOf(req)
			req.Round, req.Match = int64(room.Round), int32(room.Match)
		}
	}
	return g.writeRoom(ctx, func(ctx context.Context) (game.Command, error) {
		return g.nextRound(ctx, req)
	}, func(ctx context.Context, c pb.GameClient) (*pb.RoomReply, error) { return c.NextRound(ctx, req) })
}

// nextRound is run by the leader: it picks the next word.
func (g *gameService) nextRound(ctx context.Context, req *pb.NextRoundRequest) (game.NextRound, error) {
	code := game.NormalizeRoomCode(req.GetRoomId())
	cmd := game.NextRound{Room: code, Player: req.GetPlayer(), PlayerID: req.GetPlayerId(), FromRound: int(req.GetRound()), FromMatch: int(req.GetMatch()), At: g.cfg.Now().UnixMilli()}
	room, err := g.leaderRoom(ctx, code, req.GetRoomId())
	if err != nil {
		return cmd, err
	}
	cmd.Word, err = g.nextWord(room, req.GetWord(), req.GetPlayerId())
	return cmd, err
}

// leaderRoom returns the room with code (asked for as id) as this node,
// the leader, has it. As for the store's own refusals
// (Store.ProposeAll), "unknown" is an answer only from a state that has
// applied the read index, not from a deposed leader that lacks the new
// leader's rooms, nor from a leader that has not applied a create it
// committed.
func (g *gameService) leaderRoom(ctx context.Context, code, id string) (*game.Room, error) {
	if room, ok := g.cfg.Store.Room(code); ok {
		return room, nil
	}
	index, err := g.cfg.Store.ReadIndex()
	if err == nil {
		err = g.cfg.Store.WaitApplied(ctx, index)
	}
	if err != nil {
		return nil, err
	}
	room, ok := g.cfg.Store.Room(code)
	if !ok {
		return nil, fmt.Errorf("%w: %q", game.ErrUnknownRoom, id)
	}
	return room, nil
}

// nextWord picks the word of room's next round or match: in a
// custom-word room the host's, as given (the host watches every round, so
// every word is one the host chose: the state machine refuses a missing
// one, after its other checks); otherwise one from the room's list, not
// the word just played if the list allows.
func (g *gameService) nextWord(room *game.Room, word, playerID string) (string, error) {
	if room.Custom {
		if word != "" && playerID != room.HostID {
			return "", fmt.Errorf("only the host of room %s sets its word: %w", room.Code, game.ErrForbidden)
		}
		return word, nil
	}
	if word != "" {
		return "", fmt.Errorf("only the host of a custom-word room sets the word: %w", game.ErrInvalidCommand)
	}
	category, difficulty := room.Category, room.Difficulty
	// Avoid repeating the word just played.
	var w string
	for range 4 {
		var err error
		if w, err = game.PickWord(category, difficulty, g.cfg.Rand); err != nil {
			return "", err
		}
		if w != room.Word {
			break
		}
	}
	return w, nil
}

// Rematch starts the next match of a room whose match is over, as
// NextRound starts the next round: "the match now" (match 0) is pinned
// where the request comes in, on a linearizable read, so that retries
// cannot start a second match; the leader picks the word.
func (g *gameService) Rematch(ctx context.Context, req *pb.RematchRequest) (*pb.RoomReply, error) {
	if err := needPlayerID(req.GetPlayerId()); err != nil {
		return nil, err
	}
	if req.GetMatch() == 0 {
		if err := g.proxy.Read(ctx); err != nil {
			return nil, toStatus(err)
		}
		if room, ok := g.cfg.Store.Room(game.NormalizeRoomCode(req.GetRoomId())); ok {
			req = proto.CloneOf(req)
			req.Match = int32(room.Match)
		}
	}
	return g.writeRoom(ctx, func(ctx context.Context) (game.Command, error) {
		code := game.NormalizeRoomCode(req.GetRoomId())
		cmd := game.Rematch{Room: code, Player: req.GetPlayer(), PlayerID: req.GetPlayerId(), FromMatch: int(req.GetMatch()), At: g.cfg.Now().UnixMilli()}
		room, err := g.leaderRoom(ctx, code, req.GetRoomId())
		if err != nil {
			return cmd, err
		}
		cmd.Word, err = g.nextWord(room, req.GetWord(), req.GetPlayerId())
		return cmd, err
	}, func(ctx context.Context, c pb.GameClient) (*pb.RoomReply, error) { return c.Rematch(ctx, req) })
}

// earlyTimeoutHold is how long before a turn's deadline, by the leader's
// clock, an ExpireTurn is held until the deadline rather than refused:
// tabs count the countdown down on their own clocks, which may run a
// little ahead of the leader's. It stays well under the game client's
// attempt timeout (a second), which would otherwise give up on the
// request while it is held.
const earlyTimeoutHold = 500 * time.Millisecond

// ExpireTurn ends a turn whose countdown ran out. The leader stamps the
// command with its clock: the state machine compares that time with the
// turn's deadline, so that every replica decides alike. A request that
// comes at most earlyTimeoutHold early waits for the deadline here.
func (g *gameService) ExpireTurn(ctx context.Context, req *pb.ExpireTurnRequest) (*pb.RoomReply, error) {
	return g.writeRoom(ctx, func(ctx context.Context) (game.Command, error) {
		code := game.NormalizeRoomCode(req.GetRoomId())
		if room, ok := g.cfg.Store.Room(code); ok && room.Version == req.GetVersion() {
			early := time.Duration(room.TurnDeadline()-g.cfg.Now().UnixMilli()) * time.Millisecond
			if early > 0 && early <= earlyTimeoutHold {
				t := time.NewTimer(early)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return nil, fmt.Errorf("expire turn in room %s: waiting for the deadline: %w", code, ctx.Err())
				}
			}
		}
		return game.ExpireTurn{Room: code, Version: req.GetVersion(), At: g.cfg.Now().UnixMilli()}, nil
	}, func(ctx context.Context, c pb.GameClient) (*pb.RoomReply, error) { return c.ExpireTurn(ctx, req) })
}

func (g *gameService) Join(ctx context.Context, req *pb.JoinRequest) (*pb.RoomReply, error) {
	if err := needPlayerID(req.GetPlayerId()); err != nil {
		return nil, err
	}
	return g.joinOrLeave(ctx, game.Join{Room: game.NormalizeRoomCode(req.GetRoomId()), Player: req.GetPlayer(), PlayerID: req.GetPlayerId()},
		func(ctx context.Context, c pb.GameClient) (*pb.RoomReply, error) { return c.Join(ctx, req) })
}

func (g *gameService) Leave(ctx context.Context, req *pb.LeaveRequest) (*pb.RoomReply, error) {
	if err := needPlayerID(req.GetPlayerId()); err != nil {
		return nil, err
	}
	return g.joinOrLeave(ctx, game.Leave{Room: game.NormalizeRoomCode(req.GetRoomId()), PlayerID: req.GetPlayerId()},
		func(ctx context.Context, c pb.GameClient) (*pb.RoomReply, error) { return c.Leave(ctx, req) })
}

// joinOrLeave applies a Join or Leave, stamping the time on the leader.
func (g *gameService) joinOrLeave(ctx context.Context, cmd game.Command, fwd func(context.Context, pb.GameClient) (*pb.RoomReply, error)) (*pb.RoomReply, error) {
	return g.writeRoom(ctx, func(context.Context) (game.Command, error) {
		now := g.cfg.Now().UnixMilli()
		switch c := cmd.(type) {
		case game.Join:
			c.At = now
			return c, nil
		case game.Leave:
			c.At = now
			return c, nil
		}
		return cmd, nil
	}, fwd)
}

// writeRoom is write for a command answered with its room: on the leader,
// build makes the command (again on every try) and the store applies it;
// elsewhere fwd sends the request to the leader.
func (g *gameService) writeRoom(ctx context.Context, build func(context.Context) (game.Command, error), fwd func(context.Context, pb.GameClient) (*pb.RoomReply, error)) (*pb.RoomReply, error) {
	var reply *pb.RoomReply
	err := g.write(ctx, func(ctx context.Context) error {
		cmd, err := build(ctx)
		if err != nil {
			return err
		}
		res, err := g.cfg.Store.Apply(ctx, cmd)
		if err != nil {
			return err
		}
		reply = &pb.RoomReply{Room: RoomToProto(res.Room)}
		return nil
	}, func(ctx context.Context, cc grpc.ClientConnInterface) (err error) {
		reply, err = fwd(ctx, pb.NewGameClient(cc))
		return err
	})
	return reply, err
}

// write runs local if this node leads, and forward on the leader
// otherwise (see proxy.Proxy.Write); errors become statuses.
func (g *gameService) write(ctx context.Context, local func(context.Context) error, forward func(context.Context, grpc.ClientConnInterface) error) error {
	return toStatus(g.proxy.Write(ctx, local, forward))
}

func (g *gameService) WatchRoom(req *pb.WatchRoomRequest, stream pb.Game_WatchRoomServer) error {
	ctx := stream.Context()
	code := game.NormalizeRoomCode(req.GetRoomId())
	// A stream that resumes one the caller had elsewhere starts no lower
	// than the version it had (the caller bounds the wait).
	if err := g.cfg.Store.WaitRoomVersion(ctx, code, req.GetFromVersion()); err != nil {
		return toStatus(err)
	}
	room, sub, err := g.cfg.Store.Subscribe(code, watchBuffer)
	if errors.Is(err, game.ErrUnknownRoom) {
		// Created a moment ago and not applied here yet, or unknown: once
		// this node has applied the leader's read index, it knows.
		if err = g.proxy.Read(ctx); err == nil {
			room, sub, err = g.cfg.Store.Subscribe(code, watchBuffer)
		}
	}
	if err != nil {
		return toStatus(err)
	}
	defer sub.Close()
	if err := stream.Send(&pb.RoomEvent{Room: RoomToProto(room), ServedBy: g.cfg.ID}); err != nil {
		return err
	}
	last := room.Version
	for {
		select {
		case c, ok := <-sub.C:
			if !ok {
				return toStatus(fmt.Errorf("watch of room %s ended: %w", room.Code, sub.Err()))
			}
			if c.Room.Version <= last {
				continue
			}
			last = c.Room.Version
			if err := stream.Send(&pb.RoomEvent{Room: RoomToProto(c.Room), ServedBy: g.cfg.ID}); err != nil {
				return err
			}
		case <-stream.Context().Done():
			return nil
		}
	}
}
