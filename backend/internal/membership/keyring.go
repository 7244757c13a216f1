package membership

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"
)

// loadKeyring returns the gossip keyring: the keys kept in file (serf's
// format: a JSON list of base64 keys, the primary first) if it exists,
// else key alone, which is then written to file so that a restart finds
// the keyring as rotations leave it.
func loadKeyring(file string, key []byte) (*memberlist.Keyring, error) {
	data, err := os.ReadFile(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		kr, err := memberlist.NewKeyring(nil, key)
		if err != nil {
			return nil, fmt.Errorf("membership: gossip key: %w", err)
		}
		if err := writeKeyring(file, [][]byte{key}); err != nil {
			return nil, err
		}
		return kr, nil
	case err != nil:
		return nil, fmt.Errorf("membership: read keyring %s: %w", file, err)
	}
	var encoded []string
	if err := json.Unmarshal(data, &encoded); err != nil {
		return nil, fmt.Errorf("membership: keyring %s: not a JSON list of keys: %w", file, err)
	}
	if len(encoded) == 0 {
		return nil, fmt.Errorf("membership: keyring %s holds no key", file)
	}
	keys := make([][]byte, 0, len(encoded))
	for i, e := range encoded {
		k, err := base64.StdEncoding.DecodeString(e)
		if err != nil {
			return nil, fmt.Errorf("membership: keyring %s: key %d: %w", file, i, err)
		}
		keys = append(keys, k)
	}
	kr, err := memberlist.NewKeyring(keys, keys[0])
	if err != nil {
		return nil, fmt.Errorf("membership: keyring %s: %w", file, err)
	}
	return kr, nil
}

// writeKeyring writes keys, the primary first, in serf's keyring format.
func writeKeyring(file string, keys [][]byte) error {
	encoded := make([]string, len(keys))
	for i, k := range keys {
		encoded[i] = base64.StdEncoding.EncodeToString(k)
	}
	data, err := json.MarshalIndent(encoded, "", "  ")
	if err != nil {
		return fmt.Errorf("membership: encode keyring: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return fmt.Errorf("membership: keyring dir: %w", err)
	}
	if err := os.WriteFile(file, data, 0o600); err != nil {
		return fmt.Errorf("membership: write keyring %s: %w", file, err)
	}
	return nil
}

// KeyOp is a cluster-wide keyring operation.
type KeyOp int

// Keyring operations, as serf's key manager runs them on every member.
// Rotation without downtime: install the new key everywhere, use it as
// primary, then remove the old one.
const (
	// KeyList lists the keys every member holds.
	KeyList KeyOp = iota
	// KeyInstall adds a key to every member's keyring.
	KeyInstall
	// KeyUse makes an installed key the primary, which encrypts.
	KeyUse
	// KeyRemove removes a key that is not the primary.
	KeyRemove
)

// KeyringResult is the outcome of a keyring operation across the cluster.
type KeyringResult struct {
	// Members is how many members were asked, Responses how many answered.
	Members, Responses int
	// Failures maps a member that failed to its error.
	Failures map[string]string
	// Keys maps each key (base64) to the number of members holding it (for KeyList).
	Keys map[string]int
	// PrimaryKeys maps each primary key (base64) to the number of members using it (for KeyList).
	PrimaryKeys map[string]int
}

// Keyring runs op with key (base64; empty for KeyList) on every member.
// It fails when any member failed or did not answer, so that a rotation
// goes on to its next step only once every member has taken this one.
func (m *Membership) Keyring(op KeyOp, key string) (KeyringResult, error) {
	if m.cfg.KeyringFile == "" {
		return KeyringResult{}, errors.New("membership: gossip is not encrypted on this node (started with --insecure)")
	}
	km := m.serf.KeyManager()
	var (
		resp *serf.KeyResponse
		err  error
	)
	switch op {
	case KeyList:
		resp, err = km.ListKeys()
	case KeyInstall:
		resp, err = km.InstallKey(key)
	case KeyUse:
		resp, err = km.UseKey(key)
	case KeyRemove:
		resp, err = km.RemoveKey(key)
	default:
		return KeyringResult{}, fmt.Errorf("membership: unknown keyring operation %d", op)
	}
	if resp == nil {
		return KeyringResult{}, fmt.Errorf("membership: keyring: %w", err)
	}
	res := KeyringResult{
		Members: resp.NumNodes, Responses: resp.NumResp,
		Failures: resp.Messages, Keys: resp.Keys, PrimaryKeys: resp.PrimaryKeys,
	}
	if err == nil && resp.NumErr > 0 {
		err = fmt.Errorf("%d of %d members failed", resp.NumErr, resp.NumNodes)
	}
	if err == nil && resp.NumResp < resp.NumNodes {
		err = fmt.Errorf("%d of %d members answered", resp.NumResp, resp.NumNodes)
	}
	if err != nil {
		var detail bytes.Buffer
		for node, msg := range resp.Messages {
			fmt.Fprintf(&detail, "; %s: %s", node, msg)
		}
		return res, fmt.Errorf("membership: keyring: %w%s", err, detail.String())
	}
	return res, nil
}
