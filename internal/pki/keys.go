package pki

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
)

// Key files written by CreateDev.
const (
	// GossipKeyFile holds the serf gossip key, base64.
	GossipKeyFile = "gossip.key"
	// SessionKeyFile holds the key frontends sign sessions with, base64.
	SessionKeyFile = "session.key"
)

// GossipKeySize is the size of a new gossip key: 32 bytes, for serf's
// AES-256.
const GossipKeySize = 32

// SessionKeySize is the size of a session key.
const SessionKeySize = 32

// NewGossipKey returns a new random gossip key of 32 bytes, as standard
// base64, the form the commands print and the key files hold.
func NewGossipKey() (string, error) {
	return newKey(GossipKeySize)
}

// ParseGossipKey decodes a base64 gossip key, ignoring surrounding space.
// It must decode to 16, 24 or 32 bytes (AES-128, -192 or -256). Errors
// never quote the key.
func ParseGossipKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("gossip key is not standard base64 (make one with gallows gossip-key): %w", err)
	}
	switch len(key) {
	case 16, 24, 32:
		return key, nil
	}
	return nil, fmt.Errorf("gossip key is %d bytes, want 16, 24 or 32 (make one with gallows gossip-key)", len(key))
}

// ReadGossipKeyFile reads and parses a file holding a base64 gossip key.
func ReadGossipKeyFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read gossip key: %w", err)
	}
	key, err := ParseGossipKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

// ReadSessionKeyFile reads a file holding a base64 session key of at
// least 32 bytes, as CreateDev writes.
func ReadSessionKeyFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read session key: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("%s: session key is not standard base64: %w", path, err)
	}
	if len(key) < SessionKeySize {
		return nil, fmt.Errorf("%s: session key is %d bytes, want at least %d", path, len(key), SessionKeySize)
	}
	return key, nil
}

// newKey returns n random bytes as standard base64.
func newKey(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}
