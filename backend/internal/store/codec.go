package store

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/gallows-game/gallows/backend/game"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// encodeCommand encodes a game command as one element of a log entry: an
// entry is a pb.Batch, and a pb.Batch is its encoded commands one after
// the other, each as its field number, length and bytes.
func encodeCommand(cmd game.Command) ([]byte, error) {
	pc, err := toProto(cmd)
	if err != nil {
		return nil, err
	}
	msg, err := proto.Marshal(pc)
	if err != nil {
		return nil, fmt.Errorf("encode command: %w", err)
	}
	enc := protowire.AppendTag(make([]byte, 0, len(msg)+8), batchCommandsField, protowire.BytesType)
	return protowire.AppendBytes(enc, msg), nil
}

// batchCommandsField is the field number of pb.Batch's commands.
const batchCommandsField = 1

func toProto(c game.Command) (*pb.Command, error) {
	switch c := c.(type) {
	case game.CreateRoom:
		return &pb.Command{Kind: &pb.Command_CreateRoom{CreateRoom: &pb.CreateRoomCommand{
			Code: c.Code, Host: c.Host, Category: c.Category, Difficulty: string(c.Difficulty),
			Custom: c.Custom, Word: c.Word, MaxLives: int64(c.MaxLives), RequestId: c.RequestID, AtUnixMs: c.At, HostId: c.HostID,
			Rounds: int64(c.Rounds), Private: c.Private, TurnSeconds: int64(c.TurnSeconds),
		}}}, nil
	case game.Guess:
		return &pb.Command{Kind: &pb.Command_Guess{Guess: &pb.GuessCommand{
			Room: c.Room, Player: c.Player, PlayerId: c.PlayerID, Letter: c.Letter, RequestId: c.RequestID, Round: int64(c.Round), AtUnixMs: c.At,
		}}}, nil
	case game.NextRound:
		return &pb.Command{Kind: &pb.Command_NextRound{NextRound: &pb.NextRoundCommand{
			Room: c.Room, Player: c.Player, PlayerId: c.PlayerID, Word: c.Word, AtUnixMs: c.At, FromRound: int64(c.FromRound), FromMatch: int64(c.FromMatch),
		}}}, nil
	case game.Rematch:
		return &pb.Command{Kind: &pb.Command_Rematch{Rematch: &pb.RematchCommand{
			Room: c.Room, Player: c.Player, PlayerId: c.PlayerID, Word: c.Word, FromMatch: int64(c.FromMatch), AtUnixMs: c.At,
		}}}, nil
	case game.ExpireTurn:
		return &pb.Command{Kind: &pb.Command_ExpireTurn{ExpireTurn: &pb.ExpireTurnCommand{Room: c.Room, Version: c.Version, AtUnixMs: c.At}}}, nil
	case game.Join:
		return &pb.Command{Kind: &pb.Command_Join{Join: &pb.JoinCommand{Room: c.Room, Player: c.Player, PlayerId: c.PlayerID, AtUnixMs: c.At}}}, nil
	case game.Leave:
		return &pb.Command{Kind: &pb.Command_Leave{Leave: &pb.LeaveCommand{Room: c.Room, PlayerId: c.PlayerID, AtUnixMs: c.At}}}, nil
	default:
		return nil, fmt.Errorf("%w: %T", game.ErrInvalidCommand, c)
	}
}

// fromProto decodes a command of a log entry. An entry written before
// player ids carries none: its command gets game.LegacyPlayerID of its
// player's name, the id a snapshot of that time gives the player on
// restore, so that replaying an old log and restoring an old snapshot
// agree. (New commands always carry an id: the rpc layer refuses writes
// without one, and the game refuses commands without one.)
func fromProto(c *pb.Command) (game.Command, error) {
	switch k := c.GetKind().(type) {
	case *pb.Command_CreateRoom:
		x := k.CreateRoom
		return game.CreateRoom{
			Code: x.GetCode(), Host: x.GetHost(), HostID: playerID(x.GetHostId(), x.GetHost()), Category: x.GetCategory(),
			Difficulty: game.Difficulty(x.GetDifficulty()), Custom: x.GetCustom(), Word: x.GetWord(),
			MaxLives: int(x.GetMaxLives()), RequestID: x.GetRequestId(), At: x.GetAtUnixMs(),
			Rounds: int(x.GetRounds()), Private: x.GetPrivate(), TurnSeconds: int(x.GetTurnSeconds()),
		}, nil
	case *pb.Command_Guess:
		x := k.Guess
		return game.Guess{
			Room: x.GetRoom(), Player: x.GetPlayer(), PlayerID: playerID(x.GetPlayerId(), x.GetPlayer()),
			Letter: x.GetLetter(), RequestID: x.GetRequestId(), Round: int(x.GetRound()), At: x.GetAtUnixMs(),
		}, nil
	case *pb.Command_NextRound:
		x := k.NextRound
		return game.NextRound{
			Room: x.GetRoom(), Player: x.GetPlayer(), PlayerID: playerID(x.GetPlayerId(), x.GetPlayer()),
			Word: x.GetWord(), FromRound: int(x.GetFromRound()), FromMatch: int(x.GetFromMatch()), At: x.GetAtUnixMs(),
		}, nil
	case *pb.Command_Rematch:
		x := k.Rematch
		return game.Rematch{
			Room: x.GetRoom(), Player: x.GetPlayer(), PlayerID: x.GetPlayerId(),
			Word: x.GetWord(), FromMatch: int(x.GetFromMatch()), At: x.GetAtUnixMs(),
		}, nil
	case *pb.Command_ExpireTurn:
		x := k.ExpireTurn
		return game.ExpireTurn{Room: x.GetRoom(), Version: x.GetVersion(), At: x.GetAtUnixMs()}, nil
	case *pb.Command_Join:
		x := k.Join
		return game.Join{Room: x.GetRoom(), Player: x.GetPlayer(), PlayerID: playerID(x.GetPlayerId(), x.GetPlayer()), At: x.GetAtUnixMs()}, nil
	case *pb.Command_Leave:
		x := k.Leave
		return game.Leave{Room: x.GetRoom(), PlayerID: playerID(x.GetPlayerId(), x.GetPlayer()), At: x.GetAtUnixMs()}, nil
	default:
		return nil, fmt.Errorf("%w: empty command", game.ErrInvalidCommand)
	}
}

// playerID is a logged command's player id: id, or for an entry written
// before player ids (no id, a name), the legacy id of the name as the
// game would normalize it. A command with neither stays without an id,
// for the game to refuse.
func playerID(id, name string) string {
	if id != "" {
		return id
	}
	if n, err := game.NormalizeName(name); err == nil {
		return game.LegacyPlayerID(n)
	}
	return ""
}
