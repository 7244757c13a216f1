package gameclient

import (
	"strings"
	"sync"

	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// versions remembers, per room, the highest version the client has
// returned to its callers (in a reply, a read or a watch event). Reads
// carry it as their min_version, so that no backend answers with an
// older state, across failover: a caller never sees a room go back.
type versions struct {
	mu   sync.Mutex
	seen map[string]uint64
}

// roomKey is how a room id is compared: as backends normalise codes.
func roomKey(id string) string { return strings.ToUpper(strings.TrimSpace(id)) }

// saw records r's version and returns r.
func (v *versions) saw(r *pb.Room) *pb.Room {
	if r == nil {
		return r
	}
	k := roomKey(r.GetId())
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen == nil {
		v.seen = map[string]uint64{}
	}
	if r.GetVersion() > v.seen[k] {
		v.seen[k] = r.GetVersion()
	}
	return r
}

// get returns the highest version of room id returned so far, or 0.
func (v *versions) get(id string) uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.seen[roomKey(id)]
}

// SeenVersion returns the highest version of room id this client has
// returned to any caller, or 0: the version below which no read of the
// room through this client can go.
func (c *Client) SeenVersion(id string) uint64 { return c.versions.get(id) }
