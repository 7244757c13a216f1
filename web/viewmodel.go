package web

// Page holds what every full page needs: its title, the frontend that served
// it and the nickname of the player viewing it.
type Page struct {
	// Title is the page title, without the site name.
	Title string
	// Frontend is the id of the frontend serving the page.
	Frontend string
	// Player is the name of the viewer's session; empty without one.
	Player string
}

// HomePage is the landing page: create a room, join one, or pick an open one.
type HomePage struct {
	Page
	// Categories are the word categories a host may pick from.
	Categories []string
	// Difficulties are the difficulty levels a host may pick from.
	Difficulties []string
	// Rooms are the open rooms, listed with links: one page of them.
	Rooms []RoomSummary
	// MoreRoomsAfter, if not empty, is the cursor of the next page of open
	// rooms: the page links to it.
	MoreRoomsAfter string
	// Error is shown above the forms when the last action failed.
	Error string
	// JoinCode pre-fills the "Join by code" field.
	JoinCode string
	// CreateRequest is the request id the create form sends, so that
	// sending the same form twice creates one room.
	CreateRequest string
	// Form holds what the create form had when it was refused, so that
	// the page shows it again as the player typed it.
	Form CreateForm
}

// CreateForm is the create form's fields as posted.
type CreateForm struct {
	Category, Difficulty, Word string
	// Rounds is the match length picked (0: endless).
	Rounds int
	// TurnSeconds is the countdown picked (0: none).
	TurnSeconds int
	// Private keeps the room off the home page's list.
	Private bool
}

// RoomSummary is one line of the open rooms list on the home page.
type RoomSummary struct {
	ID, Category, Difficulty, Status string
	Players, Round                   int
	// Rounds is the match length; 0 for an endless room.
	Rounds int
}

// RoomPage is the page of one room.
type RoomPage struct {
	Page
	// RoomPlayer is the viewer's name as a player of record of this
	// room, or empty when the viewer only watches: no session yet, or
	// its name is someone else's in the room. Page.Player is the
	// session's name either way.
	RoomPlayer string
	// Room is the room's current state.
	Room RoomView
	// Error is shown in the status line (e.g. the last guess was rejected).
	Error string
	// InviteURL is the room's address to share: opening it joins the room.
	InviteURL string
	// Watching is true when the viewer chose to watch (?watch=1) rather
	// than play.
	Watching bool
}

// RoomView is everything the room page shows that can change while it is
// open. It never carries the secret word while the round is being played.
type RoomView struct {
	ID      string
	Version uint64
	Round   int
	// Status is "playing", "won" or "lost".
	Status string
	// Masked has one cell per character of the word.
	Masked              []MaskCell
	LivesLeft, MaxLives int
	// Stage is the gallows drawing stage, 0..6 (0 = empty gallows,
	// 6 = full figure); the handler computes it from the lives.
	Stage int
	// Keys are the on-screen keyboard, a..z.
	Keys []Key
	// Wrong are the letters guessed wrong this round.
	Wrong []string
	// Word is the secret word, set only once the round is over.
	Word string
	// Players are the room's players with their points.
	Players []PlayerView
	// Log is this round's guesses, oldest first.
	Log                        []LogView
	Category, Difficulty, Host string
	// Custom is true when the host typed the word.
	Custom bool
	// ServedBy is the backend node that streamed this state.
	ServedBy string
	// Announce is the text for the aria-live region, e.g.
	// "ana guessed E: hit"; it may be empty.
	Announce string
	// Rounds is the match's length in rounds; 0 for an endless room.
	Rounds int
	// Match counts matches in the room: 1, then +1 per rematch.
	Match int
	// MatchOver is true once the match's last round is over: the page
	// shows the podium and the host's rematch button.
	MatchOver bool
	// Podium is the match's best players, best first (at most three),
	// once the match is over.
	Podium []PlayerView
	// TurnSeconds is the time allowed for each guess; 0 for no countdown.
	TurnSeconds int
	// TurnDeadline is when the current turn's countdown runs out, in unix
	// milliseconds; 0 when there is none.
	TurnDeadline int64
	// Private is true for a room listed nowhere: players come by code or
	// invite link.
	Private bool
	// Online counts the players with a tab open on the room.
	Online int
}

// MaskCell is one character of the word as the players see it.
type MaskCell struct {
	// Char is the character; it is never shown when Hidden is set.
	Char string
	// Hidden shows a blank slot.
	Hidden bool
	// Separator marks a space, hyphen or apostrophe, shown as is.
	Separator bool
}

// Key is one key of the on-screen keyboard.
type Key struct {
	// Letter is the lower-case letter.
	Letter string
	// State is "unused", "hit" or "miss".
	State string
}

// PlayerView is one player of a room.
type PlayerView struct {
	Name   string
	Points int
	// Host is true for the player who created the room.
	Host bool
	// Online is true while the player has a tab open on the room, on any
	// frontend.
	Online bool
}

// LogView is one guess of the current round.
type LogView struct {
	Player, Letter string
	Hit            bool
	// Timeout marks a turn whose countdown ran out: it cost a life.
	Timeout bool
}

// ClusterPage is the page showing the backend cluster.
type ClusterPage struct {
	Page
	// Cluster is the cluster's current state.
	Cluster ClusterView
	// Notice is shown above the panel, e.g. a fault button's refusal.
	Notice string
}

// ClusterView is the state of the backend cluster as one node sees it.
type ClusterView struct {
	// Leader is the id of the Raft leader; empty when there is none.
	Leader string
	// ServedBy is the backend node that answered.
	ServedBy string
	// Nodes are every known node.
	Nodes []NodeView
	// Error is shown when the cluster could not be asked.
	Error string
	// Faults shows each node's fault buttons (kill -9, restart, freeze,
	// cut off): gallows dev --fault-buttons.
	Faults bool
	// Timeline is the failover timeline, newest first.
	Timeline []TimelineEvent
}

// TimelineEvent is one line of the cluster panel's failover timeline.
type TimelineEvent struct {
	// Kind is the event's kind, e.g. "leader-elected" (a CSS hook).
	Kind string
	// Clock is when it was seen, e.g. "12:03:04.512"; After how long
	// after the event before it, e.g. "+0.43 s" (empty for the oldest).
	Clock, After string
	// Text says what happened.
	Text string
}

// NodeView is one backend node.
type NodeView struct {
	// ID is the node id; Role is "leader", "follower", "candidate" or
	// "down"; SerfStatus is serf's view, e.g. "alive", "failed", "left".
	ID, Role, SerfStatus                       string
	Term, LastIndex, CommitIndex, AppliedIndex uint64
	// Leader is true for the Raft leader.
	Leader bool
	// ServesThisTab is true for the node streaming to this browser tab.
	ServesThisTab bool
}

// LeaderboardPage lists the best players.
type LeaderboardPage struct {
	Page
	// Entries are ordered by rank.
	Entries []LeaderEntry
}

// LeaderEntry is one line of the leaderboard.
type LeaderEntry struct {
	Rank   int
	Name   string
	Points int
	// Rooms is how many rooms the player has played in.
	Rooms int
}

// ErrorPage is shown when a request fails.
type ErrorPage struct {
	Page
	// Status is the HTTP status code.
	Status int
	// Message explains what went wrong.
	Message string
}
