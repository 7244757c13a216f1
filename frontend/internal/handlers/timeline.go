package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/gallows-game/gallows/frontend/internal/timeline"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
	"github.com/gallows-game/gallows/web"
)

// RecordTimeline feeds Config.Timeline the cluster status this frontend
// watches, until ctx ends. Without a Timeline it returns at once.
func (h *Handlers) RecordTimeline(ctx context.Context) {
	if h.cfg.Timeline == nil {
		return
	}
	for st := range h.cfg.Game.WatchCluster(ctx) {
		h.cfg.Timeline.Observe(time.Now(), timelineStatus(st))
	}
}

// timelineStatus is what the timeline needs of a cluster status.
func timelineStatus(st *pb.ClusterStatus) timeline.Status {
	out := timeline.Status{Leader: st.GetLeaderId()}
	for _, n := range st.GetNodes() {
		out.Nodes = append(out.Nodes, timeline.Node{ID: n.GetId(), Up: n.GetRole() != "down", Term: n.GetTerm()})
	}
	return out
}

// guessAcked tells the timeline that a guess was acknowledged now.
func (h *Handlers) guessAcked() {
	h.cfg.Timeline.Acked(time.Now())
}

// clusterPanel is the cluster panel's view of st: the nodes, the fault
// buttons if Faults is set, and the timeline.
func (h *Handlers) clusterPanel(st *pb.ClusterStatus) web.ClusterView {
	v := clusterView(st, "")
	v.Faults = h.cfg.Faults != nil
	v.Timeline = timelineView(h.cfg.Timeline.Events())
	return v
}

// timelineView turns events (newest first) into the panel's lines, each
// with its clock time and how long after the event before it it came.
func timelineView(events []timeline.Event) []web.TimelineEvent {
	out := make([]web.TimelineEvent, 0, len(events))
	for i, e := range events {
		line := web.TimelineEvent{Kind: string(e.Kind), Clock: e.At.Format("15:04:05.000"), Text: e.Text}
		if i+1 < len(events) {
			line.After = fmt.Sprintf("+%.2f s", e.At.Sub(events[i+1].At).Seconds())
		}
		out = append(out, line)
	}
	return out
}

// LivePanel returns g with a WatchCluster that also delivers the last
// status again whenever tl has a new event, so that the cluster panel,
// rendered at each status, shows the timeline live. Without tl it is g.
func LivePanel(g Game, tl *timeline.Recorder) Game {
	if tl == nil {
		return g
	}
	return livePanel{Game: g, tl: tl}
}

type livePanel struct {
	Game
	tl *timeline.Recorder
}

// WatchCluster implements Game: the statuses of the Game's, each again
// at every new timeline event. A slow reader gets the latest.
func (g livePanel) WatchCluster(ctx context.Context) <-chan *pb.ClusterStatus {
	in := g.Game.WatchCluster(ctx)
	out := make(chan *pb.ClusterStatus, 1)
	go func() {
		defer close(out)
		var last *pb.ClusterStatus
		changed := g.tl.Changed()
		for {
			select {
			case st, ok := <-in:
				if !ok {
					return
				}
				last = st
			case <-changed:
				changed = g.tl.Changed()
				if last == nil {
					continue
				}
			}
			// Replace a status the reader has not taken yet.
			select {
			case <-out:
			default:
			}
			out <- last
		}
	}()
	return out
}
