package rpc

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gallows-game/gallows/backend/internal/scores"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// defaultTopLimit is the page size of Top when the caller gives none.
const defaultTopLimit = 50

// scoresService serves this node's scores replica: no quorum needed.
type scoresService struct {
	pb.UnimplementedScoresServer
	gossip *scores.Gossip
}

func (s *scoresService) Top(_ context.Context, req *pb.TopRequest) (*pb.TopReply, error) {
	limit := int(req.GetLimit())
	if limit == 0 {
		limit = defaultTopLimit
	}
	page, next, err := s.gossip.Replica().Scores(limit, req.GetCursor())
	if err != nil {
		return nil, scoresStatus(err)
	}
	out := &pb.TopReply{NextCursor: next, Entries: make([]*pb.ScoreEntry, len(page))}
	for i, e := range page {
		out.Entries[i] = &pb.ScoreEntry{PlayerId: e.PlayerID, Name: e.Name, Score: e.Score, Rooms: int32(e.Rooms)}
	}
	return out, nil
}

func (s *scoresService) Write(_ context.Context, req *pb.ScoreWrite) (*pb.ScoreEntry, error) {
	var (
		score int64
		err   error
	)
	switch c := req.GetChange().(type) {
	case *pb.ScoreWrite_Set:
		score, err = s.gossip.Set(req.GetPlayerId(), c.Set)
	case *pb.ScoreWrite_Add:
		score, err = s.gossip.Add(req.GetPlayerId(), c.Add)
	default:
		return nil, status.Error(codes.InvalidArgument, "scores: give set or add")
	}
	if err != nil {
		return nil, scoresStatus(err)
	}
	return &pb.ScoreEntry{PlayerId: req.GetPlayerId(), Score: score}, nil
}

func (s *scoresService) Sync(_ context.Context, req *pb.SyncRequest) (*pb.SyncReply, error) {
	reply, err := s.gossip.AnswerSync(req)
	if err != nil {
		return nil, scoresStatus(err)
	}
	return reply, nil
}

func (s *scoresService) Push(_ context.Context, req *pb.PushRequest) (*pb.PushReply, error) {
	if err := s.gossip.AnswerPush(req); err != nil {
		return nil, scoresStatus(err)
	}
	return &pb.PushReply{}, nil
}

func scoresStatus(err error) error {
	if errors.Is(err, scores.ErrInvalid) {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

func (s *scoresService) ReportPresence(_ context.Context, req *pb.PresenceReport) (*pb.PresenceReply, error) {
	if req.GetFrontendId() == "" {
		return nil, status.Error(codes.InvalidArgument, "presence: frontend_id is required")
	}
	r := scores.FrontendPresence{Epoch: req.GetEpoch(), Seq: req.GetSeq(), Beat: req.GetBeat()}
	for _, e := range req.GetEntries() {
		r.Entries = append(r.Entries, scores.Seen{
			PlayerID: e.GetPlayerId(), Name: e.GetName(), Room: e.GetRoomId(), Since: time.UnixMilli(e.GetSinceMs()),
		})
	}
	s.gossip.ReportPresence(req.GetFrontendId(), r)
	return &pb.PresenceReply{}, nil
}

func (s *scoresService) Online(_ context.Context, req *pb.OnlineRequest) (*pb.OnlineReply, error) {
	seen := s.gossip.Online(req.GetRoomId())
	out := &pb.OnlineReply{Online: make([]*pb.PresenceEntry, len(seen))}
	for i, e := range seen {
		out.Online[i] = &pb.PresenceEntry{PlayerId: e.PlayerID, Name: e.Name, RoomId: e.Room, SinceMs: e.Since.UnixMilli()}
	}
	return out, nil
}
