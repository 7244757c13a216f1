package web

import (
	"regexp"
	"strings"
	"testing"
)

// With Faults, each node has the four fault buttons, each a form of its
// own that posts to its node and action; those that make no sense for
// the node's state are disabled. The timeline lists its events in order.
func TestClusterFaultButtonsAndTimeline(t *testing.T) {
	v := sampleCluster() // b1 leader, b2 follower, b3 down
	html := render(t, ClusterBody(v))
	if strings.Contains(html, "data-fault=") {
		t.Error("fault buttons without Faults")
	}
	mustContain(t, html, "Failover timeline", "Nothing has happened yet.")

	v.Faults = true
	v.Timeline = []TimelineEvent{
		{Kind: "leader-elected", Clock: "12:03:04.912", After: "+0.40 s", Text: "b2 elected leader in term 8, 400 ms after b1 was lost"},
		{Kind: "fault", Clock: "12:03:04.512", Text: "b1 killed (kill -9) while leading"},
	}
	html = render(t, ClusterBody(v))
	rows := regexp.MustCompile(`(?s)<tr class="node[^"]*"[^>]*>.*?</tr>`).FindAllString(html, -1)
	if len(rows) != 3 {
		t.Fatalf("%d node rows, want 3", len(rows))
	}
	button := func(row, action string) (found, disabled bool) {
		m := regexp.MustCompile(`<button[^>]*data-fault="` + action + `"[^>]*>`).FindString(row)
		return m != "", strings.Contains(m, " disabled")
	}
	for i, up := range []bool{true, true, false} {
		id := v.Nodes[i].ID
		mustContain(t, rows[i], `action="/cluster/nodes/`+id+`/kill"`, `action="/cluster/nodes/`+id+`/restart"`,
			`action="/cluster/nodes/`+id+`/freeze"`, `action="/cluster/nodes/`+id+`/cut"`,
			">kill -9</button>", ">restart</button>", ">freeze 5 s</button>", ">cut off 10 s</button>")
		for _, action := range []string{"kill", "freeze", "cut"} {
			if found, disabled := button(rows[i], action); !found || disabled == up {
				t.Errorf("%s: %s button found %v, disabled %v; want disabled only when down", id, action, found, disabled)
			}
		}
		if found, disabled := button(rows[i], "restart"); !found || disabled != up {
			t.Errorf("%s: restart button found %v, disabled %v; want enabled only when down", id, found, disabled)
		}
	}
	i, j := strings.Index(html, "b2 elected leader"), strings.Index(html, "b1 killed (kill -9)")
	if i < 0 || j < 0 || i > j {
		t.Errorf("timeline not shown newest first:\n%s", html)
	}
	mustContain(t, html, "12:03:04.912", "+0.40 s", "timeline__event--fault")
}

// The page's hint says what is true: the buttons with Faults, make up and
// make kill-leader without.
func TestClusterPageHint(t *testing.T) {
	p := ClusterPage{Page: Page{Title: "Cluster", Frontend: "f1"}, Cluster: sampleCluster(), Notice: "Not done: b3 is not running"}
	html := render(t, Cluster(p))
	mustContain(t, html, "make kill-leader", `role="alert">Not done: b3 is not running`)
	mustNotContain(t, html, "Kill the leader and watch another take over")
	p.Cluster.Faults = true
	html = render(t, Cluster(p))
	mustContain(t, html, "Press <strong>kill -9</strong> on the leader and keep playing in another tab")
	mustNotContain(t, html, "make kill-leader")
}
