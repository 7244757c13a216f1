package frontend_test

// The cluster panel's fault buttons in a real browser: kill -9 of the
// leader from the panel while a player plays in another tab. The harness
// is in browser_harness_test.go.

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gallows-game/gallows/internal/faultnet"
	"github.com/gallows-game/gallows/internal/localcluster"
	"github.com/gallows-game/gallows/internal/localcluster/localtest"
)

// TestBrowserKillLeaderFromPanel: a player plays in one tab; in another,
// the cluster panel's "kill -9" on the leader's row kills it. The game
// goes on in the room tab (a guess acknowledged and shown), the panel
// shows the killed node down and another leading, and its timeline shows
// the new leader and the gap until the first acknowledged guess. At a
// desktop size and at a phone's.
func TestBrowserKillLeaderFromPanel(t *testing.T) {
	brChromium(t)
	for _, size := range brSizes {
		t.Run(size.name, func(t *testing.T) {
			s := localtest.Start(t, localcluster.Config{Backends: 3, Frontends: 1, Network: faultnet.New(), Faults: true})
			base := s.URLs()[0]
			ps := brPlayers(t, base, "mo", "ana")
			room := brAPIAs(t, ps["mo"], "POST", base+"/api/rooms", map[string]any{"word": "quick brown fox", "max_lives": 10}, http.StatusCreated)

			b := brStartBrowser(t, int(size.opt.width), int(size.opt.height))
			play := b.newTab("room", size.opt)
			panel := b.newTab("cluster", size.opt)
			brOpenRoom(t, play, base, room.ID, ps["ana"])
			brGuessUntilSeen(t, play, "q", []*brTab{play}, brStepTimeout)

			panel.navigate(base + "/cluster")
			panel.waitSocket("/ws/cluster", brStepTimeout)
			leader := s.Leader().ID()
			row := fmt.Sprintf(`document.querySelector('#cluster tr[data-node=%q]')`, leader)
			panel.waitJS(brStepTimeout, leader+" marked leader on the panel", row+`?.getAttribute('data-leader') === 'true'`)
			if got := brEval[string](panel, "read the hint", `document.querySelector('.lede').textContent`); !strings.Contains(got, "Press kill -9 on the leader") {
				t.Errorf("the panel's hint is %q", got)
			}
			kill := fmt.Sprintf(`#cluster button[data-fault="kill"][data-node=%q]`, leader)
			clicked := time.Now()
			if u := panel.submit("click kill -9 on "+leader, chromedp.Click(chromedp.CSS(kill))); !strings.HasSuffix(u, "/cluster") {
				t.Errorf("the kill -9 form led to %s, want the panel", u)
			}
			panel.waitSocket("/ws/cluster", brStepTimeout)

			// The game goes on in the room tab.
			brGuessUntilSeen(t, play, "u", []*brTab{play}, 45*time.Second)
			ackSeen := time.Since(clicked)

			// The panel: the killed node down, another leading.
			otherLeads := fmt.Sprintf(`(r => !!r && r.getAttribute('data-node') !== %q)(document.querySelector('#cluster tr[data-leader="true"]'))`, leader)
			panel.waitJS(brStepTimeout, "another node marked leader", otherLeads)
			leaderSeen := time.Since(clicked)
			panel.waitJS(brStepTimeout, leader+" shown down, without figures",
				row+`.classList.contains('node--down') && `+row+`.querySelector('td[data-label="Term"]').textContent.trim() === '—'`)
			panel.waitJS(brStepTimeout, "restart enabled on "+leader+" only",
				fmt.Sprintf(`!document.querySelector('#cluster button[data-fault="restart"][data-node=%q]').disabled && `+
					`document.querySelector('#cluster button[data-fault="kill"][data-node=%q]').disabled`, leader, leader))

			// The timeline: the kill, the new leader and the gap.
			events := `[...document.querySelectorAll('#cluster .timeline__event')].map(e => e.textContent.replace(/\s+/g, ' ').trim())`
			panel.waitJS(brStepTimeout, "the timeline to show the new leader and the first acknowledged guess",
				fmt.Sprintf(`(ev => ev.some(e => e.includes('elected leader') && e.includes('after %[1]s was lost')) &&
					ev.some(e => e.includes('first guess acknowledged') && e.includes('after %[1]s was lost')) &&
					ev.some(e => e.includes('%[1]s killed (kill -9) while leading')))(%[2]s)`, leader, events))
			timeline := brEval[[]string](panel, "read the timeline", events)
			if len(timeline) == 0 || !strings.Contains(timeline[0], "first guess acknowledged") && !strings.Contains(timeline[0], "elected leader") {
				t.Errorf("the timeline's newest event is not the last thing that happened: %q", timeline)
			}
			t.Logf("%s: kill -9 of %s clicked; new leader on the panel %v later, next guess shown in the room tab %v later",
				size.name, leader, leaderSeen.Round(time.Millisecond), ackSeen.Round(time.Millisecond))
			for _, e := range timeline {
				t.Logf("  timeline: %s", e)
			}
			brKeepScreenshot(t, panel, "cluster-failover-"+size.name)
			for _, tab := range []*brTab{play, panel} {
				tab.noExceptions()
			}
		})
	}
}
