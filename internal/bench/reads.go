package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/gallows-game/gallows/frontend"
	"github.com/gallows-game/gallows/internal/localcluster"
)

// benchLimitScale multiplies the frontend's rate limits in Reads.
const benchLimitScale = 1000

// ReadsReport is what Reads measured: the same room reads through a
// frontend's JSON API at each read level, in turns.
type ReadsReport struct {
	// Stale reads answer from what a backend has applied, with no check:
	// what every read cost before reads became linearizable.
	Stale Result
	// Linearizable reads (the default) reflect every write acknowledged
	// before they began: the leader confirms with a heartbeat round that
	// it still leads.
	Linearizable Result
	// Turns is how the levels were measured.
	Turns Turns
}

// Write prints the report as a table, with the cost of linearizable reads.
func (r ReadsReport) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "level\treads\treads/s\tp50\tp99\t")
	for _, res := range []Result{r.Stale, r.Linearizable} {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t\n", res.Name, res.Ops, res.OpsPerSec(), ms(res.P50), ms(res.P99))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("bench: write report: %w", err)
	}
	_, err := fmt.Fprintf(w, "linearizable/stale: reads/s %.2f, p50 %.2fx, p99 %.2fx (%d turns of %v per level)\n",
		ratio(r.Linearizable.OpsPerSec(), r.Stale.OpsPerSec()), ratio(float64(r.Linearizable.P50), float64(r.Stale.P50)),
		ratio(float64(r.Linearizable.P99), float64(r.Stale.P99)), r.Turns.PerSide, r.Turns.Length)
	return err
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// Reads measures what a player's read of a room costs, end to end: HTTP
// GETs of /api/rooms/{id} on a frontend in front of a 3-node cluster, at
// the stale level and at the linearizable one, in turns with the same
// clients (cfg.Clients, each reading its own room), while one player per
// room keeps guessing so that the rooms change under the reads. Every read
// must answer 200 with its room.
func Reads(ctx context.Context, cfg Config) (ReadsReport, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return ReadsReport{}, err
	}
	dir, cleanup, err := runDir(cfg.Dir)
	if err != nil {
		return ReadsReport{}, err
	}
	defer cleanup()
	sctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	// Every client reads from 127.0.0.1, far faster than a person: the
	// frontend's rate limits, per client IP, are raised out of the way.
	cluster, err := localcluster.Start(sctx, localcluster.Config{
		Backends: nodes, Frontends: 1, Dir: dir, Logger: cfg.Logger,
		Frontend: func(fc *frontend.Config) { fc.Limits = frontend.Limits{}.Scaled(benchLimitScale) },
	})
	if err != nil {
		return ReadsReport{}, fmt.Errorf("bench: reads: %w", err)
	}
	defer func() { _ = cluster.Close() }()
	base := cluster.URLs()[0]
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Clients + 1}}
	defer hc.CloseIdleConnections()

	// One player, w, hosts every room and starts their rounds; another,
	// g, guesses in them (w chose the words, so w watches).
	var w, g struct {
		Token string `json:"token"`
	}
	if err := call(sctx, hc, "", http.MethodPost, base+"/api/players", `{"name":"w"}`, http.StatusCreated, &w); err != nil {
		return ReadsReport{}, fmt.Errorf("bench: reads: new player: %w", err)
	}
	if err := call(sctx, hc, "", http.MethodPost, base+"/api/players", `{"name":"g"}`, http.StatusCreated, &g); err != nil {
		return ReadsReport{}, fmt.Errorf("bench: reads: new player: %w", err)
	}
	rooms := make([]string, cfg.Clients)
	for i := range rooms {
		var room struct {
			ID string `json:"id"`
		}
		body := fmt.Sprintf(`{"word":%q,"max_lives":26}`, pangram)
		if err := call(sctx, hc, w.Token, http.MethodPost, base+"/api/rooms", body, http.StatusCreated, &room); err != nil {
			return ReadsReport{}, fmt.Errorf("bench: reads: create room: %w", err)
		}
		rooms[i] = room.ID
	}
	// One guess every few milliseconds across the rooms keeps the log
	// moving, as players do, so a read index is not always the last one.
	wctx, cancelWriter := context.WithCancel(ctx)
	var writer sync.WaitGroup
	var writerErr error
	writer.Go(func() { writerErr = guessAlong(wctx, hc, w.Token, g.Token, base, rooms) })
	stopWriter := func() { cancelWriter(); writer.Wait() }
	defer stopWriter()

	level := func(name, query string) *side {
		return &side{name: name, setup: func(_ context.Context, i int) (step, error) {
			url := base + "/api/rooms/" + rooms[i] + query
			return func(ctx context.Context) (bool, error) {
				var room struct {
					ID string `json:"id"`
				}
				if err := call(ctx, hc, "", http.MethodGet, url, "", http.StatusOK, &room); err != nil {
					if ctx.Err() != nil {
						return false, nil
					}
					return false, fmt.Errorf("bench: read %s: %w", url, err)
				}
				if room.ID != rooms[i] {
					return false, fmt.Errorf("bench: read %s answered room %q", url, room.ID)
				}
				return true, nil
			}, nil
		}}
	}
	results, turns, err := alternate(ctx, cfg, []*side{level("stale", "?level=stale"), level("linearizable", "")})
	if err != nil {
		return ReadsReport{}, err
	}
	stopWriter()
	if writerErr != nil {
		return ReadsReport{}, writerErr
	}
	return ReadsReport{Stale: results[0], Linearizable: results[1], Turns: turns}, nil
}

// guessAlong guesses the letters a to z in the rooms, one room after the
// other, every 2 ms, as the player of guesserToken, and starts a room's
// next round when a round ends as the player of hostToken, who hosts
// them all, until ctx ends.
func guessAlong(ctx context.Context, hc *http.Client, hostToken, guesserToken, base string, rooms []string) error {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		i := n % len(rooms)
		url := base + "/api/rooms/" + rooms[i]
		var room struct {
			Round   int64    `json:"round"`
			Status  string   `json:"status"`
			Guessed []string `json:"guessed"`
		}
		err := call(ctx, hc, "", http.MethodGet, url+"?level=stale", "", http.StatusOK, &room)
		switch {
		case err != nil:
		case room.Status != "playing":
			err = call(ctx, hc, hostToken, http.MethodPost, url+"/rounds", fmt.Sprintf(`{"round":%d}`, room.Round), http.StatusOK, nil)
		default:
			letter := string(rune('a' + len(room.Guessed)%26))
			err = call(ctx, hc, guesserToken, http.MethodPost, url+"/guesses", fmt.Sprintf(`{"letter":%q,"round":%d}`, letter, room.Round), http.StatusOK, nil)
			if err != nil && (strings.Contains(err.Error(), "already_guessed") || strings.Contains(err.Error(), "round_over")) {
				err = nil // a stale read: the next one catches up
			}
		}
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("bench: reads: the writer: %w", err)
		}
	}
}

// call sends one JSON API request, as the session of token if not empty,
// and decodes its answer into out (if not nil); an answer other than want
// is an error that carries its body.
func call(ctx context.Context, hc *http.Client, token, method, url, body string, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, strings.TrimSpace(string(b)))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, url, err)
		}
	}
	return nil
}
