package membership

import (
	"errors"
	"fmt"
	"net"
	"strconv"
)

// Serf tag keys. They are short because serf limits the encoded tags of a
// member to 512 bytes.
const (
	tagRole         = "role"
	tagID           = "id"
	tagRaftAddr     = "raft"
	tagGRPCAddr     = "grpc"
	tagHTTPAddr     = "http"
	tagExpect       = "expect"
	tagBootstrapped = "bootstrapped"

	// roleBackend is the value of the role tag that every gallows backend
	// gossips; serf members without it are not part of the cluster.
	roleBackend = "gallows-backend"
)

var (
	// ErrNotBackend is returned by ParseTags for the tags of a serf member
	// that is not a gallows backend (its role tag is missing or different).
	// Such members are ignored.
	ErrNotBackend = errors.New("membership: not a gallows backend")

	// ErrInvalidTags is returned by ParseTags when a gallows backend's tags
	// are missing a field or hold a malformed value.
	ErrInvalidTags = errors.New("membership: invalid tags")
)

// Tags is the metadata a backend gossips to the others through serf tags.
type Tags struct {
	// ID is the node's Raft server ID; it is also its serf node name.
	ID string
	// RaftAddr is the host:port of the node's Raft transport.
	RaftAddr string
	// GRPCAddr is the host:port of the node's gRPC API.
	GRPCAddr string
	// HTTPAddr is the host:port of the node's admin HTTP server.
	HTTPAddr string
	// Expect is the node's bootstrap-expect setting (0: never bootstraps).
	Expect int
	// Bootstrapped reports that the node has Raft state or has seen a
	// leader, so a cluster exists and nobody may bootstrap another one.
	Bootstrapped bool
}

// Map encodes t as serf tags, including the role tag that marks a gallows
// backend. ParseTags(t.Map()) returns t when t is valid.
func (t Tags) Map() map[string]string {
	return map[string]string{
		tagRole:         roleBackend,
		tagID:           t.ID,
		tagRaftAddr:     t.RaftAddr,
		tagGRPCAddr:     t.GRPCAddr,
		tagHTTPAddr:     t.HTTPAddr,
		tagExpect:       strconv.Itoa(t.Expect),
		tagBootstrapped: strconv.FormatBool(t.Bootstrapped),
	}
}

// ParseTags decodes and validates the serf tags of a member. It returns an
// error wrapping ErrNotBackend when the role tag does not mark a gallows
// backend, and one wrapping ErrInvalidTags when a field is missing or
// malformed: the ID must be non-empty, every address must be host:port with
// a non-empty host and a numeric port, Expect must be an integer >= 0 and
// Bootstrapped a boolean.
func ParseTags(m map[string]string) (Tags, error) {
	if role := m[tagRole]; role != roleBackend {
		return Tags{}, fmt.Errorf("%w: role tag %q", ErrNotBackend, role)
	}
	t := Tags{ID: m[tagID]}
	if t.ID == "" {
		return Tags{}, fmt.Errorf("%w: empty %s", ErrInvalidTags, tagID)
	}
	for _, f := range []struct {
		key string
		dst *string
	}{
		{tagRaftAddr, &t.RaftAddr},
		{tagGRPCAddr, &t.GRPCAddr},
		{tagHTTPAddr, &t.HTTPAddr},
	} {
		v := m[f.key]
		if err := checkHostPort(v); err != nil {
			return Tags{}, fmt.Errorf("%w: %s %q: %w", ErrInvalidTags, f.key, v, err)
		}
		*f.dst = v
	}
	expect, err := strconv.Atoi(m[tagExpect])
	if err != nil {
		return Tags{}, fmt.Errorf("%w: %s: %w", ErrInvalidTags, tagExpect, err)
	}
	if expect < 0 {
		return Tags{}, fmt.Errorf("%w: %s %d is negative", ErrInvalidTags, tagExpect, expect)
	}
	t.Expect = expect
	if t.Bootstrapped, err = strconv.ParseBool(m[tagBootstrapped]); err != nil {
		return Tags{}, fmt.Errorf("%w: %s: %w", ErrInvalidTags, tagBootstrapped, err)
	}
	return t, nil
}

// checkHostPort validates an address others use to reach a node: host:port
// with a non-empty host and a port number in 1-65535.
func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" {
		return errors.New("empty host")
	}
	return checkPort(port)
}

// checkPort validates a TCP/UDP port number in 1-65535.
func checkPort(port string) error {
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return fmt.Errorf("port %q is not in 1-65535", port)
	}
	return nil
}
