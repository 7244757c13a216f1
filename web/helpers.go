package web

import (
	"net/url"
	"strconv"
	"strings"
)

// gallowsStages is the highest drawing stage: the full figure.
const gallowsStages = 6

// clampStage keeps a drawing stage within 0..gallowsStages.
func clampStage(s int) int {
	return min(max(s, 0), gallowsStages)
}

// roomURL returns the path of a room, or of one of its sub-resources.
// moreRoomsURL is the home page showing the open rooms after cursor.
func moreRoomsURL(cursor string) string {
	return "/?after=" + url.QueryEscape(cursor) + "#rooms-title"
}

func roomURL(id string, parts ...string) string {
	u := "/rooms/" + url.PathEscape(id)
	for _, p := range parts {
		u += "/" + p
	}
	return u
}

// cellName is how a screen reader hears one cell of the masked word.
func cellName(c MaskCell) string {
	switch {
	case c.Hidden:
		return "blank"
	case c.Separator:
		switch c.Char {
		case " ":
			return "space"
		case "-":
			return "hyphen"
		case "'", "’":
			return "apostrophe"
		}
	}
	return strings.ToUpper(c.Char)
}

// maskLabel is the accessible name of the masked word,
// e.g. "Word: E, blank, blank, P".
func maskLabel(cells []MaskCell) string {
	names := make([]string, len(cells))
	for i, c := range cells {
		names[i] = cellName(c)
	}
	return "Word: " + strings.Join(names, ", ")
}

// cellClass is the CSS class of one cell of the masked word.
func cellClass(c MaskCell) string {
	switch {
	case c.Hidden:
		return "cell cell--blank"
	case c.Separator:
		return "cell cell--sep"
	}
	return "cell"
}

// keyLabel is the accessible name of a key: "a", "a, correct" or "a, wrong".
func keyLabel(k Key) string {
	switch k.State {
	case "hit":
		return k.Letter + ", correct"
	case "miss":
		return k.Letter + ", wrong"
	}
	return k.Letter
}

// keyGlyph is the shape that marks a used key, beside its colour.
func keyGlyph(state string) string {
	switch state {
	case "hit":
		return "✓"
	case "miss":
		return "✗"
	}
	return ""
}

// keyDisabled reports whether a key can no longer be pressed.
func keyDisabled(k Key, status string) bool {
	return k.State == "hit" || k.State == "miss" || status != "playing"
}

// roundOver reports whether the round of v has ended.
func roundOver(v RoomView) bool {
	return v.Status == "won" || v.Status == "lost"
}

// isHost reports whether player hosts the room.
func isHost(v RoomView, player string) bool {
	return player != "" && player == v.Host
}

// roleGlyph is the shape of a node's role badge, beside its colour.
func roleGlyph(role string) string {
	switch role {
	case "leader":
		return "★"
	case "follower":
		return "●"
	case "candidate":
		return "◐"
	case "down":
		return "✗"
	}
	return "?"
}

// roleClass is the CSS class of a node's role badge.
func roleClass(role string) string {
	switch role {
	case "leader", "follower", "candidate", "down":
		return "badge badge--" + role
	}
	return "badge"
}

// pageTitle is the document title of a page.
func pageTitle(title string) string {
	if title == "" || title == "Gallows" {
		return "Gallows"
	}
	return title + " · Gallows"
}

// or returns s, or def when s is empty.
func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// partClass is the CSS class of figure part n at drawing stage s: the part
// drawn last is marked new so that it can be animated in.
func partClass(s, n int) string {
	if s == n {
		return "part part--new"
	}
	return "part"
}

// isLeader reports whether n is the cluster's leader.
func isLeader(v ClusterView, n NodeView) bool {
	return n.Leader || (v.Leader != "" && n.ID == v.Leader)
}

// nodeNumber is a node's term or index as the cluster panel shows it: "—"
// for a node that is down, whose figures nobody knows.
func nodeNumber(n NodeView, v uint64) string {
	if n.Role == "down" {
		return "—"
	}
	return strconv.FormatUint(v, 10)
}

// roundChoices are the match lengths the create form offers; 0 is endless.
var roundChoices = []int{3, 5, 10, 0}

// turnChoices are the countdowns per guess the create form offers, in
// seconds; 0 is none.
var turnChoices = []int{0, 15, 30, 60}

// roundsLabel names a match length.
func roundsLabel(n int) string {
	if n == 0 {
		return "endless"
	}
	return strconv.Itoa(n) + " rounds"
}

// turnLabel names a countdown per guess.
func turnLabel(n int) string {
	if n == 0 {
		return "no limit"
	}
	return strconv.Itoa(n) + " seconds"
}

// medal is the podium's mark for place i (0 is first).
func medal(i int) string {
	switch i {
	case 0:
		return "1st"
	case 1:
		return "2nd"
	}
	return "3rd"
}

// lastRound reports whether v plays the last round of its match: it is
// played to the end, no next round is started before.
func lastRound(v RoomView) bool {
	return v.Rounds > 0 && v.Round >= v.Rounds && !v.MatchOver
}
