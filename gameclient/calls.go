package gameclient

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	randv2 "math/rand/v2"
	"path"
	"sync/atomic"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// Reason extracts the pb.ErrorReason a backend attached to err (as the
// reason of a google.rpc.ErrorInfo detail of domain "gallows"), looking
// through wrapping. It is ERROR_REASON_UNSPECIFIED when there is none.
func Reason(err error) pb.ErrorReason {
	if err == nil {
		return pb.ErrorReason_ERROR_REASON_UNSPECIFIED
	}
	st, ok := status.FromError(err)
	if !ok {
		return pb.ErrorReason_ERROR_REASON_UNSPECIFIED
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == pb.ErrorDomain {
			return pb.ErrorReason(pb.ErrorReason_value[info.GetReason()])
		}
	}
	return pb.ErrorReason_ERROR_REASON_UNSPECIFIED
}

// CreateRoom opens a room, hosted by req.Host with req.PlayerId, and
// returns it. Every write names its player by id as well as by name (the
// backends refuse a write without a player_id): a frontend sends its
// session's id, a bot BotPlayerID of its name. Every retry carries the same
// request_id, so one call creates one room, even when an attempt's reply was
// lost after the commit; when req has no request_id, a random one is set on
// a copy of req first.
func (c *Client) CreateRoom(ctx context.Context, req *pb.CreateRoomRequest) (*pb.Room, error) {
	if req.GetRequestId() == "" {
		req = proto.CloneOf(req)
		req.RequestId = NewRequestID()
	}
	rep, _, err := retry(ctx, c, pb.Game_CreateRoom_FullMethodName, leaderFirst, req, gameCall(pb.GameClient.CreateRoom))
	if err != nil {
		return nil, err
	}
	return c.versions.saw(rep.GetRoom()), nil
}

// Guess guesses one letter as req.Player with req.PlayerId (required, see
// CreateRoom). Guesses made at the same time through the same
// backend share batches on one GuessStream (see guessBatcher), each
// answered on its own. Every retry carries the same request_id, so the
// guess is applied at most once, and a retry whose first attempt was
// applied (its reply lost, or a hedge's twin, see Config.HedgeAfter) is
// answered with that first reply; when req has no request_id, a random
// one is set on a copy of req first. This client mints request ids for
// every caller that has none: backends mint none.
func (c *Client) Guess(ctx context.Context, req *pb.GuessRequest) (*pb.GuessReply, error) {
	if req.GetRequestId() == "" {
		req = proto.CloneOf(req)
		req.RequestId = NewRequestID()
	}
	rep, _, err := retry(ctx, c, pb.Game_GuessStream_FullMethodName, leaderFirst, req, batchedGuess)
	if err != nil {
		return nil, err
	}
	c.versions.saw(rep.GetRoom())
	return rep, nil
}

// Rematch starts the next match of a room whose match is over, as
// req.PlayerId, who must be the room's host, and returns the room. The
// request ends one match: req.Match, or, when that is 0, the match the
// room plays when the call begins (read first, as GetRoom does). So a
// retry after a lost reply starts no second match: it is answered with
// the first answer, the room as the match it started began.
func (c *Client) Rematch(ctx context.Context, req *pb.RematchRequest) (*pb.Room, error) {
	if req.GetMatch() == 0 {
		room, err := c.GetRoom(ctx, req.GetRoomId())
		if err != nil {
			return nil, err
		}
		req = proto.CloneOf(req)
		req.Match = room.GetMatch()
	}
	rep, _, err := retry(ctx, c, pb.Game_Rematch_FullMethodName, leaderFirst, req, gameCall(pb.GameClient.Rematch))
	if err != nil {
		return nil, err
	}
	return c.versions.saw(rep.GetRoom()), nil
}

// ExpireTurn ends the current turn of a room whose countdown ran out, if
// the room is still at req.Version, and returns the room: the turn cost a
// life. Sent by every tab of the room at the deadline, it applies once;
// the others, and one sent early (the leader's clock decides), are
// refused with TURN_NOT_OVER, as is a retry whose first attempt applied.
func (c *Client) ExpireTurn(ctx context.Context, req *pb.ExpireTurnRequest) (*pb.Room, error) {
	rep, _, err := retry(ctx, c, pb.Game_ExpireTurn_FullMethodName, leaderFirst, req, gameCall(pb.GameClient.ExpireTurn))
	if err != nil {
		return nil, err
	}
	return c.versions.saw(rep.GetRoom()), nil
}

// NextRound starts the next round, as req.PlayerId, who must be the
// room's host, and returns the room. The request ends
// one round: req.Round, or, when that is 0, the round the room is in when
// the call begins (read first, as GetRoom does). So a retry after a lost
// reply starts no second round: it is answered with the first answer, the
// room as the round it started began.
func (c *Client) NextRound(ctx context.Context, req *pb.NextRoundRequest) (*pb.Room, error) {
	if req.GetRound() == 0 {
		// "The round now": pinned once, here, so that a retry on another
		// backend after a lost reply cannot start a second round.
		room, err := c.GetRoom(ctx, req.GetRoomId())
		if err != nil {
			return nil, err
		}
		req = proto.CloneOf(req)
		req.Round, req.Match = room.GetRound(), room.GetMatch()
	}
	rep, _, err := retry(ctx, c, pb.Game_NextRound_FullMethodName, leaderFirst, req, gameCall(pb.GameClient.NextRound))
	if err != nil {
		return nil, err
	}
	return c.versions.saw(rep.GetRoom()), nil
}

// Join makes req.PlayerId a player of record of a room under the name
// req.Player (idempotent; NAME_TAKEN if another player id has the name
// there).
func (c *Client) Join(ctx context.Context, req *pb.JoinRequest) (*pb.Room, error) {
	rep, _, err := retry(ctx, c, pb.Game_Join_FullMethodName, leaderFirst, req, gameCall(pb.GameClient.Join))
	if err != nil {
		return nil, err
	}
	return c.versions.saw(rep.GetRoom()), nil
}

// Leave removes the player of record req.PlayerId from a room: a caller
// leaves as itself (idempotent).
func (c *Client) Leave(ctx context.Context, req *pb.LeaveRequest) (*pb.Room, error) {
	rep, _, err := retry(ctx, c, pb.Game_Leave_FullMethodName, leaderFirst, req, gameCall(pb.GameClient.Leave))
	if err != nil {
		return nil, err
	}
	return c.versions.saw(rep.GetRoom()), nil
}

// GetRoom returns a room, read linearizably: it reflects every write
// acknowledged before the call began, through any frontend. It asks the
// leader first (a follower answers too, one hop further). The read
// carries the highest version of the room this client has returned, so
// no backend answers with an older one.
func (c *Client) GetRoom(ctx context.Context, id string) (*pb.Room, error) {
	return c.getRoom(ctx, id, pb.ReadLevel_READ_LEVEL_LINEARIZABLE)
}

// GetRoomStale returns a room as a backend (preferably a follower) has
// applied it, at once: it may miss writes acknowledged a moment ago, but
// never goes below a version this client has returned.
func (c *Client) GetRoomStale(ctx context.Context, id string) (*pb.Room, error) {
	return c.getRoom(ctx, id, pb.ReadLevel_READ_LEVEL_STALE)
}

func (c *Client) getRoom(ctx context.Context, id string, level pb.ReadLevel) (*pb.Room, error) {
	req := &pb.GetRoomRequest{RoomId: id, Level: level, MinVersion: c.versions.get(id)}
	o := leaderFirst
	if level == pb.ReadLevel_READ_LEVEL_STALE {
		o = followersFirst
	}
	rep, _, err := retry(ctx, c, pb.Game_GetRoom_FullMethodName, o, req, gameCall(pb.GameClient.GetRoom))
	if err != nil {
		return nil, err
	}
	return c.versions.saw(rep.GetRoom()), nil
}

// ListRooms returns a page of rooms, ordered by code, read linearizably
// as GetRoom reads one unless req asks for another level: req.Limit rooms
// at most (0: every room), after req.Cursor, the NextCursor of the page
// before (empty: from the first). The reply's NextCursor is empty on the
// last page.
func (c *Client) ListRooms(ctx context.Context, req *pb.ListRoomsRequest) (*pb.ListRoomsReply, error) {
	o := leaderFirst
	if req.GetLevel() == pb.ReadLevel_READ_LEVEL_STALE {
		o = followersFirst
	}
	rep, _, err := retry(ctx, c, pb.Game_ListRooms_FullMethodName, o, req, gameCall(pb.GameClient.ListRooms))
	if err != nil {
		return nil, err
	}
	for _, r := range rep.GetRooms() {
		c.versions.saw(r)
	}
	return rep, nil
}

// Categories lists the word categories and difficulties rooms can use,
// as any backend (preferably a follower) knows them.
func (c *Client) Categories(ctx context.Context) (*pb.CategoriesReply, error) {
	rep, _, err := retry(ctx, c, pb.Game_Categories_FullMethodName, followersFirst, &pb.CategoriesRequest{}, gameCall(pb.GameClient.Categories))
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// unaryCall is one attempt of a call on one backend.
type unaryCall[Req, Rep proto.Message] func(*backendConn, context.Context, Req) (Rep, error)

// gameCall is the unaryCall of a method of pb.GameClient.
func gameCall[Req, Rep proto.Message](method func(pb.GameClient, context.Context, Req, ...grpc.CallOption) (Rep, error)) unaryCall[Req, Rep] {
	return func(bc *backendConn, ctx context.Context, req Req) (Rep, error) {
		return method(bc.game, ctx, req)
	}
}

// batchedGuess is the unaryCall of a guess: it goes out in a GuessBatch
// call, with the other guesses made through the same backend meanwhile.
func batchedGuess(bc *backendConn, ctx context.Context, req *pb.GuessRequest) (*pb.GuessReply, error) {
	return bc.guesses.guess(ctx, req)
}

// noMajorityWait is how long a call is retried while the cluster status
// shows fewer than a majority of the voters up before it gives up with
// NO_MAJORITY: long enough for a status that lags a recovery to catch up,
// short enough for a player to hear at once why nothing happens.
const noMajorityWait = time.Second

// retry runs call on backend after backend, in order o, until one gives an
// answer that is not "unreachable or no quorum", or Config.Timeout
// passes, or for noMajorityWait the cluster has had fewer than a majority
// of its voters up. It returns the address that answered last.
func retry[Req, Rep proto.Message](ctx context.Context, c *Client, method string, o order, req Req, call unaryCall[Req, Rep]) (Rep, string, error) {
	var zero Rep
	name := path.Base(method)
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var skip map[string]bool // allocated at the first retry
	bo := backoff{min: 10 * time.Millisecond, max: 500 * time.Millisecond}
	var last error
	start := time.Now()
	for attempt := 1; ; attempt++ {
		addr, ok := c.pick(o, skip)
		if !ok {
			return zero, "", fmt.Errorf("gameclient: %s: no backend known", name)
		}
		rep, addr, err := hedged(ctx, c, method, o, addr, req, call)
		if err == nil {
			c.markOK(addr)
			return rep, addr, nil
		}
		if errors.Is(err, ErrClosed) {
			return zero, addr, fmt.Errorf("gameclient: %s: %w", name, err)
		}
		if !retryable(err) {
			return zero, addr, fmt.Errorf("gameclient: %s on %s: %w", name, addr, err)
		}
		if ctx.Err() != nil || (time.Since(start) >= noMajorityWait && c.noMajority()) {
			// Out of time, or no leader can be elected until more voters
			// come back: the caller hears it now, not at the deadline.
			return zero, addr, c.gaveUp(name, attempt, err)
		}
		if transportFailure(err) {
			c.markFailed(addr)
		}
		if skip == nil {
			skip = map[string]bool{}
		}
		skip[addr] = true
		last = err
		c.log.Debug("retrying on another backend", "method", name, "backend", addr, "attempt", attempt, "err", err)
		if !sleep(ctx, bo.next()) {
			return zero, addr, c.gaveUp(name, attempt, last)
		}
	}
}

// hedged runs one attempt of call on addr. When addr has not answered
// after Config.HedgeAfter, the same request also goes to another backend
// (every request is safe to send twice): a leader that is cut off or frozen
// keeps its connections open, and a follower forwards to the next leader
// as soon as one is elected. The first answer (a reply, or an error that
// does not say "try another backend") wins and the other attempt is
// cancelled; when neither answers, the first attempt's error is returned.
// It returns the address whose answer it returns.
func hedged[Req, Rep proto.Message](ctx context.Context, c *Client, method string, o order, addr string, req Req, call unaryCall[Req, Rep]) (Rep, string, error) {
	if c.cfg.HedgeAfter < 0 || c.cfg.HedgeAfter >= c.cfg.AttemptTimeout {
		rep, err := invoke(ctx, c, method, addr, req, call)
		return rep, addr, err
	}
	pctx, cancelPrimary := context.WithCancel(ctx)
	defer cancelPrimary()
	hctx, cancelHedge := context.WithCancel(ctx)
	defer cancelHedge()
	var (
		hedgeRep      Rep
		hedgeAddr     string
		hedgeErr      error
		hedgeAnswered atomic.Bool
	)
	hedgeDone := make(chan struct{})
	t := time.AfterFunc(c.cfg.HedgeAfter, func() {
		defer close(hedgeDone)
		other, ok := c.pick(o, map[string]bool{addr: true})
		if !ok || other == addr {
			hedgeErr = errNoHedge
			return
		}
		c.log.Debug("hedging an unanswered write on another backend", "method", path.Base(method), "backend", addr, "hedge", other)
		hedgeAddr = other
		hedgeRep, hedgeErr = invoke(hctx, c, method, other, req, call)
		if hedgeErr == nil || !retryable(hedgeErr) {
			hedgeAnswered.Store(true)
			cancelPrimary()
		}
	})
	rep, err := invoke(pctx, c, method, addr, req, call)
	if t.Stop() {
		return rep, addr, err // answered before a hedge went out
	}
	if !hedgeAnswered.Load() && (err == nil || !retryable(err)) && pctx.Err() == nil {
		return rep, addr, err // an answer: the hedge is cancelled on return
	}
	<-hedgeDone
	if hedgeAnswered.Load() {
		if err != nil {
			// Another backend answered while addr did not: writes try addr
			// last for a while (a leader that is cut off or frozen keeps
			// its connections open, so it is not found out otherwise).
			c.markFailed(addr)
		}
		return hedgeRep, hedgeAddr, hedgeErr
	}
	if transportFailure(hedgeErr) {
		c.markFailed(hedgeAddr)
	}
	return rep, addr, err
}

// errNoHedge says there was no other backend to hedge on.
var errNoHedge = errors.New("gameclient: no other backend to hedge on")

// invoke runs one attempt of call on addr, bounded by
// Config.AttemptTimeout, and records it.
func invoke[Req, Rep proto.Message](ctx context.Context, c *Client, method, addr string, req Req, call unaryCall[Req, Rep]) (Rep, error) {
	var zero Rep
	bc, err := c.conn(addr)
	if err != nil {
		return zero, err
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.AttemptTimeout)
	defer cancel()
	op := Op{Method: method, Request: req, Start: time.Now(), Node: addr}
	rep, err := call(bc, actx, req)
	op.End, op.Err = time.Now(), err
	if err == nil {
		op.Reply = rep
	}
	c.record(op)
	return rep, err
}

// retryable reports whether err says "try another backend": it was not
// reached, did not answer in time, or has no leader or quorum.
func retryable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return true
	}
	return false
}

// transportFailure reports whether err says the backend itself could not
// be reached or did not answer, rather than answering "no quorum".
func transportFailure(err error) bool {
	switch status.Code(err) {
	case codes.DeadlineExceeded:
		return true
	case codes.Unavailable:
		return Reason(err) == pb.ErrorReason_ERROR_REASON_UNSPECIFIED
	}
	return false
}

// backoff yields jittered, doubling pauses between min and max.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	half := b.cur / 2
	return half + randv2.N(half+1)
}

func (b *backoff) reset() { b.cur = 0 }

// sleep waits d, or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// NewRequestID returns a new random request id: for a write sent without
// one, or for a caller that needs one before it sends (a page's form).
// Request ids are minted here and nowhere else.
func NewRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "gc-" + hex.EncodeToString(b[:])
}

// gaveUp is the error of a call retried until its deadline: always
// Unavailable (whatever the last attempt's error, e.g. its own deadline),
// since what the caller can do is the same: retry later with the same
// request. Its reason is NO_MAJORITY, with the counts (see NoMajority),
// when the cluster status shows fewer than a majority of the voters up,
// so that no leader can be elected until more come back; NO_QUORUM
// otherwise (an election, or a leader cut off, that will pass).
func (c *Client) gaveUp(name string, attempts int, last error) error {
	if up, voters, ok := c.VotersUp(); ok && up < voters/2+1 {
		msg := fmt.Sprintf("gameclient: %s: gave up after %d attempts, with %d of %d voters up: %v", name, attempts, up, voters, last)
		return noMajorityStatus(msg, up, voters)
	}
	msg := fmt.Sprintf("gameclient: %s: gave up after %d attempts: %v", name, attempts, last)
	return reasonStatus(codes.Unavailable, msg, pb.ErrorReason_ERROR_REASON_NO_QUORUM)
}

// reasonStatus is a status error as backends make them: with reason, unless
// unspecified, as a google.rpc.ErrorInfo of domain "gallows" (see Reason).
func reasonStatus(code codes.Code, msg string, reason pb.ErrorReason) error {
	st := status.New(code, msg)
	if reason != pb.ErrorReason_ERROR_REASON_UNSPECIFIED {
		if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason.String(), Domain: pb.ErrorDomain}); err == nil {
			st = d
		}
	}
	return st.Err()
}

// BotPlayerID is the player id of a bot, or a test, that plays under name
// without a frontend's session: "bot:" and the name, the same on every
// run. A write names its player by id (the backends refuse writes
// without one) and, in a room, a name belongs to the id that took it: a
// bot that always uses this id keeps its name across its own requests,
// retries and restarts. Sessions' ids are random, so they never meet it.
func BotPlayerID(name string) string { return "bot:" + name }
