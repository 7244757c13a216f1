package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// devState is what a running gallows dev tells other commands about its
// cluster (gallows status finds it there): written once the cluster is
// up, removed when dev stops.
type devState struct {
	// PID is the dev process's.
	PID int `json:"pid"`
	// URL is the frontend's.
	URL string `json:"url"`
	// Backends are the backends' gRPC addresses.
	Backends []string `json:"backends"`
	// CertsDir holds the CA, certificates and keys (gallows status
	// --certs-dir).
	CertsDir string `json:"certs_dir"`
	// DataDir holds the backends' data.
	DataDir string `json:"data_dir"`
}

// devStatePath is where gallows dev keeps its state: the user's cache
// directory ($XDG_CACHE_HOME or ~/.cache on Linux), else the temp dir.
func devStatePath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "gallows", "dev.json")
}

// writeDevState writes st for other commands to find.
func writeDevState(st devState) error {
	path := devStatePath()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("dev state: %w", err)
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("dev state: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("dev state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("dev state: %w", err)
	}
	return nil
}

// removeDevState removes the state file if it is the one process pid
// wrote: another gallows dev, on other ports, may have written its own
// since.
func removeDevState(pid int) error {
	st, err := readDevState()
	if err != nil || st.PID != pid {
		return nil
	}
	if err := os.Remove(devStatePath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("dev state: %w", err)
	}
	return nil
}

// readDevState reads the state of a running gallows dev: an error if
// there is none, or if the process that wrote it is gone (killed before
// it could remove it).
func readDevState() (devState, error) {
	var st devState
	b, err := os.ReadFile(devStatePath())
	if err != nil {
		return st, fmt.Errorf("dev state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("dev state %s: %w", devStatePath(), err)
	}
	if st.PID <= 0 || len(st.Backends) == 0 || !processAlive(st.PID) {
		return st, fmt.Errorf("dev state %s: gallows dev (pid %d) is not running", devStatePath(), st.PID)
	}
	return st, nil
}
