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
}

// RoomSummary is one line of the open rooms list on the home page.
type RoomSummary struct {
	ID, Category, Difficulty, Status string
	Players, Round                   int
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
}

// ClusterPage is the page showing the backend cluster.
type ClusterPage struct {
	Page
	// Cluster is the cluster's current state.
	Cluster ClusterView
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
