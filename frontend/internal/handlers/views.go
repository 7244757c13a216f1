package handlers

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	pb "github.com/gallows-game/gallows/proto/gallows/v1"
	"github.com/gallows-game/gallows/web"
)

// statusName is the JSON and view name of a round status.
func statusName(s pb.RoundStatus) string {
	switch s {
	case pb.RoundStatus_ROUND_STATUS_WON:
		return "won"
	case pb.RoundStatus_ROUND_STATUS_LOST:
		return "lost"
	default:
		return "playing"
	}
}

// roomView turns a room from the backend into the page's view model.
func roomView(r *pb.Room, servedBy string) web.RoomView {
	v := web.RoomView{
		ID: r.GetId(), Version: r.GetVersion(), Round: int(r.GetRound()), Status: statusName(r.GetStatus()),
		LivesLeft: int(r.GetLivesLeft()), MaxLives: int(r.GetMaxLives()), Wrong: r.GetWrong(), Word: r.GetWord(),
		Category: r.GetCategory(), Difficulty: r.GetDifficulty(), Host: r.GetHost(), Custom: r.GetCustom(),
		ServedBy: servedBy, Rounds: int(r.GetRounds()), Match: int(r.GetMatch()), MatchOver: r.GetMatchOver(),
		TurnSeconds: int(r.GetTurnSeconds()), TurnDeadline: r.GetTurnDeadlineUnixMs(), Private: r.GetPrivate(),
	}
	for _, ch := range r.GetMasked() {
		switch {
		case ch == '_':
			v.Masked = append(v.Masked, web.MaskCell{Hidden: true})
		case ch == ' ' || ch == '-' || ch == '\'':
			v.Masked = append(v.Masked, web.MaskCell{Char: string(ch), Separator: true})
		default:
			v.Masked = append(v.Masked, web.MaskCell{Char: string(ch)})
		}
	}
	// Once the round is over the word fills the blanks.
	if w := []rune(r.GetWord()); len(w) == len(v.Masked) {
		for i := range v.Masked {
			if v.Masked[i].Hidden {
				v.Masked[i] = web.MaskCell{Char: string(w[i])}
			}
		}
	}
	state := map[string]string{}
	for _, l := range r.GetGuessed() {
		state[l] = "hit"
	}
	for _, l := range r.GetWrong() {
		state[l] = "miss"
	}
	for c := 'a'; c <= 'z'; c++ {
		s := state[string(c)]
		if s == "" {
			s = "unused"
		}
		v.Keys = append(v.Keys, web.Key{Letter: string(c), State: s})
	}
	if v.MaxLives > 0 {
		wrong := v.MaxLives - v.LivesLeft
		v.Stage = (wrong*6 + v.MaxLives - 1) / v.MaxLives
	}
	for _, p := range r.GetPlayers() {
		v.Players = append(v.Players, web.PlayerView{Name: p.GetName(), Points: int(p.GetPoints()), Host: p.GetName() == r.GetHost()})
	}
	for _, e := range r.GetLog() {
		v.Log = append(v.Log, web.LogView{Player: e.GetPlayer(), Letter: e.GetLetter(), Hit: e.GetHit(), Timeout: e.GetTimeout()})
	}
	if v.MatchOver {
		v.Podium = podium(v.Players)
	}
	v.Announce = announce(r)
	return v
}

// podiumSize is how many players the end of a match honours.
const podiumSize = 3

// podium returns the best players who scored, most points first; of
// players with as many points, the one who joined first.
func podium(players []web.PlayerView) []web.PlayerView {
	var out []web.PlayerView
	for _, p := range players {
		if p.Points > 0 {
			out = append(out, p)
		}
	}
	slices.SortStableFunc(out, func(a, b web.PlayerView) int { return cmp.Compare(b.Points, a.Points) })
	return out[:min(len(out), podiumSize)]
}

// announce is what a screen reader hears about this version.
func announce(r *pb.Room) string {
	if r.GetMatchOver() {
		return fmt.Sprintf("Match over. The word was %s.", r.GetWord())
	}
	switch r.GetStatus() {
	case pb.RoundStatus_ROUND_STATUS_WON:
		return fmt.Sprintf("Round %d won! The word was %s.", r.GetRound(), r.GetWord())
	case pb.RoundStatus_ROUND_STATUS_LOST:
		return fmt.Sprintf("Round %d lost. The word was %s.", r.GetRound(), r.GetWord())
	}
	log := r.GetLog()
	if len(log) == 0 {
		return fmt.Sprintf("Round %d started: %d letters.", r.GetRound(), strings.Count(r.GetMasked(), "_"))
	}
	e := log[len(log)-1]
	if e.GetTimeout() {
		return fmt.Sprintf("Time ran out: a life lost. %d lives left.", r.GetLivesLeft())
	}
	result := "wrong"
	if e.GetHit() {
		result = "correct"
	}
	return fmt.Sprintf("%s guessed %s: %s. %d lives left.", e.GetPlayer(), strings.ToUpper(e.GetLetter()), result, r.GetLivesLeft())
}

func roomSummary(r *pb.Room) web.RoomSummary {
	return web.RoomSummary{
		ID: r.GetId(), Category: r.GetCategory(), Difficulty: r.GetDifficulty(), Status: statusName(r.GetStatus()),
		Players: len(r.GetPlayers()), Round: int(r.GetRound()), Rounds: int(r.GetRounds()),
	}
}

// clusterView turns a cluster status into the panel's view model.
func clusterView(st *pb.ClusterStatus, servingNode string) web.ClusterView {
	v := web.ClusterView{Leader: st.GetLeaderId(), ServedBy: st.GetServedBy()}
	for _, n := range st.GetNodes() {
		v.Nodes = append(v.Nodes, web.NodeView{
			ID: n.GetId(), Role: n.GetRole(), SerfStatus: n.GetSerfStatus(), Term: n.GetTerm(),
			LastIndex: n.GetLastIndex(), CommitIndex: n.GetCommitIndex(), AppliedIndex: n.GetAppliedIndex(),
			Leader: n.GetId() == st.GetLeaderId(), ServesThisTab: n.GetId() == servingNode,
		})
	}
	if len(v.Nodes) == 0 {
		v.Error = "No backend has answered yet."
	}
	return v
}
