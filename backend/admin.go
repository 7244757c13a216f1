package backend

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// adminHandler serves /healthz, /readyz and /metrics.
func (n *Node) adminHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(raftCollector{n})
	// The default registry holds the Go and process collectors and Raft's
	// own metrics (commit and apply times, replication) once a process
	// installs the go-metrics sink. Registering the Go and process
	// collectors here too would make every scrape fail as duplicates.
	gatherers := prometheus.Gatherers{reg, prometheus.DefaultGatherer}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "id": n.cfg.ID})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		ok, why := n.Ready()
		code := http.StatusOK
		if !ok {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, map[string]any{"ready": ok, "reason": why, "id": n.cfg.ID})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherers, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /v1/scores", n.getScores)
	mux.HandleFunc("POST /v1/scores", n.postScores)
	if n.cfg.DevCut != nil {
		mux.HandleFunc("POST /v1/dev/cut", n.postDevCut)
	}
	return mux
}

// maxDevCut bounds the ?for of POST /v1/dev/cut.
const maxDevCut = 10 * time.Minute

// postDevCut answers POST /v1/dev/cut?for=10s (Config.DevCut set): this
// node cuts itself off from the network for that long, then heals.
func (n *Node) postDevCut(w http.ResponseWriter, r *http.Request) {
	d, err := time.ParseDuration(r.URL.Query().Get("for"))
	if err != nil || d <= 0 || d > maxDevCut {
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("for=%q: want a duration from 1ms to %v, e.g. for=10s", r.URL.Query().Get("for"), maxDevCut))
		return
	}
	n.log.Info("dev: cut off from the network", "for", d)
	n.cfg.DevCut(d)
	writeJSON(w, http.StatusAccepted, map[string]string{"node": n.cfg.ID, "cut_for": d.String()})
}

// maxScoresBody bounds a POST /v1/scores body.
const maxScoresBody = 1 << 10

// getScores answers GET /v1/scores?limit=&cursor=: this node's scores
// replica, best first, a page at a time.
func (n *Node) getScores(w http.ResponseWriter, r *http.Request) {
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		l, err := strconv.Atoi(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "limit: want a number from 1 to 200")
			return
		}
		limit = l
	}
	page, next, err := n.scores.Replica().Scores(limit, r.URL.Query().Get("cursor"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	type entry struct {
		PlayerID string `json:"player_id"`
		Name     string `json:"name,omitempty"`
		Score    int64  `json:"score"`
	}
	out := struct {
		Scores     []entry `json:"scores"`
		NextCursor string  `json:"next_cursor,omitempty"`
	}{Scores: []entry{}, NextCursor: next}
	for _, e := range page {
		out.Scores = append(out.Scores, entry{PlayerID: e.PlayerID, Name: e.Name, Score: e.Score})
	}
	writeJSON(w, http.StatusOK, out)
}

// postScores answers POST /v1/scores {"player_id","score"} (set) or
// {"player_id","add"} (increment), on this node; gossip spreads it.
func (n *Node) postScores(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send application/json")
		return
	}
	var req struct {
		PlayerID string `json:"player_id"`
		Score    *int64 `json:"score"`
		Add      *int64 `json:"add"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxScoresBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "body: "+err.Error())
		return
	}
	var (
		score int64
		err   error
	)
	switch {
	case (req.Score == nil) == (req.Add == nil):
		writeError(w, http.StatusBadRequest, "bad_request", `give exactly one of "score" (set) and "add" (increment)`)
		return
	case req.Score != nil:
		score, err = n.scores.Set(req.PlayerID, *req.Score)
	default:
		score, err = n.scores.Add(req.PlayerID, *req.Add)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"player_id": req.PlayerID, "score": score})
}

func writeError(w http.ResponseWriter, code int, reason, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]string{"code": reason, "message": msg}})
}

// Ready reports whether the node knows a leader and has applied everything
// it knows to be committed.
func (n *Node) Ready() (bool, string) {
	st := n.store.Stats()
	// The FSM sees only commands; Raft's own applied index also counts the
	// no-op every new leader commits and configuration entries, which
	// otherwise keep a node "catching up" until the next command.
	applied := max(st.AppliedIndex, st.RaftAppliedIndex)
	switch {
	case st.LeaderID == "":
		return false, "no leader known"
	case applied < st.CommitIndex:
		return false, "catching up"
	default:
		return true, "leader " + st.LeaderID
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

var (
	descTerm    = prometheus.NewDesc("gallows_raft_term", "Current Raft term.", nil, nil)
	descLast    = prometheus.NewDesc("gallows_raft_last_index", "Last Raft log index.", nil, nil)
	descCommit  = prometheus.NewDesc("gallows_raft_commit_index", "Raft commit index.", nil, nil)
	descApplied = prometheus.NewDesc("gallows_raft_applied_index", "Last index applied to the game state.", nil, nil)
	descState   = prometheus.NewDesc("gallows_raft_state", "1 for the node's current Raft state.", []string{"state"}, nil)
	descRooms   = prometheus.NewDesc("gallows_rooms", "Rooms in the game state.", nil, nil)
	descMembers = prometheus.NewDesc("gallows_serf_members", "Serf members by status.", []string{"status"}, nil)
)

// raftCollector reads the node's Raft and serf state at scrape time.
type raftCollector struct{ n *Node }

func (c raftCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTerm, descLast, descCommit, descApplied, descState, descRooms, descMembers} {
		ch <- d
	}
}

func (c raftCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.n.store.Stats()
	ch <- prometheus.MustNewConstMetric(descTerm, prometheus.GaugeValue, float64(st.Term))
	ch <- prometheus.MustNewConstMetric(descLast, prometheus.GaugeValue, float64(st.LastIndex))
	ch <- prometheus.MustNewConstMetric(descCommit, prometheus.GaugeValue, float64(st.CommitIndex))
	ch <- prometheus.MustNewConstMetric(descApplied, prometheus.GaugeValue, float64(st.AppliedIndex))
	ch <- prometheus.MustNewConstMetric(descState, prometheus.GaugeValue, 1, strings.ToLower(st.State))
	ch <- prometheus.MustNewConstMetric(descRooms, prometheus.GaugeValue, float64(len(c.n.store.Rooms())))
	counts := map[string]int{}
	for _, m := range c.n.members.Members() {
		counts[m.Status]++
	}
	for s, k := range counts {
		ch <- prometheus.MustNewConstMetric(descMembers, prometheus.GaugeValue, float64(k), s)
	}
}
