package pki

import (
	"fmt"
	"os"
	"path/filepath"
)

// DevFiles are the paths of the development material CreateDev makes.
type DevFiles struct {
	// CA and CAKey are the CA's certificate and key.
	CA, CAKey string
	// BackendCert and BackendKey are named "backend", with role backend.
	BackendCert, BackendKey string
	// FrontendCert and FrontendKey are named "frontend", with role
	// frontend.
	FrontendCert, FrontendKey string
	// GossipKey is gossip.key: a base64 gossip key and a newline, mode
	// 0600.
	GossipKey string
	// SessionKey is session.key: 32 random bytes as base64 and a
	// newline, mode 0600. Frontends sign sessions with it.
	SessionKey string
}

// devHosts are in every dev certificate's SANs.
var devHosts = []string{"localhost", "127.0.0.1", "::1"}

// CreateDev makes everything a development cluster needs in dir (created
// 0700 if missing): a CA, one backend and one frontend certificate valid
// for hosts plus "localhost", "127.0.0.1" and "::1", a gossip key and a
// session key. It is for harnesses (make dev, tests, compose), and it is
// idempotent: what dir already holds and still works (a certificate that
// loads against the CA with its role, a key that parses) is kept, so a
// second call creates nothing; anything missing or broken is made anew,
// and a new CA brings new certificates.
func CreateDev(dir string, hosts ...string) (DevFiles, error) {
	f := DevFiles{
		CA:           filepath.Join(dir, CAFile),
		CAKey:        filepath.Join(dir, CAKeyFile),
		BackendCert:  filepath.Join(dir, "backend.pem"),
		BackendKey:   filepath.Join(dir, "backend-key.pem"),
		FrontendCert: filepath.Join(dir, "frontend.pem"),
		FrontendKey:  filepath.Join(dir, "frontend-key.pem"),
		GossipKey:    filepath.Join(dir, GossipKeyFile),
		SessionKey:   filepath.Join(dir, SessionKeyFile),
	}
	if dir == "" {
		return DevFiles{}, fmt.Errorf("dev material: no directory given")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return DevFiles{}, fmt.Errorf("dev material: %w", err)
	}
	ca, err := loadCA(dir)
	if err != nil {
		if err := createCA(dir, true); err != nil {
			return DevFiles{}, fmt.Errorf("dev material: %w", err)
		}
		if ca, err = loadCA(dir); err != nil {
			return DevFiles{}, fmt.Errorf("dev material: %w", err)
		}
	}
	all := append(append([]string{}, hosts...), devHosts...)
	for _, c := range []struct {
		role              Role
		certPath, keyPath string
	}{
		{RoleBackend, f.BackendCert, f.BackendKey},
		{RoleFrontend, f.FrontendCert, f.FrontendKey},
	} {
		if m, err := Load(f.CA, c.certPath, c.keyPath); err == nil && m.Role() == c.role {
			continue
		}
		req := CertRequest{Role: c.role, Name: string(c.role), Hosts: all}
		if _, _, err := ca.issue(dir, req, true); err != nil {
			return DevFiles{}, fmt.Errorf("dev material: %w", err)
		}
	}
	if _, err := ReadGossipKeyFile(f.GossipKey); err != nil {
		if err := writeNewKey(f.GossipKey, GossipKeySize); err != nil {
			return DevFiles{}, fmt.Errorf("dev material: gossip key: %w", err)
		}
	}
	if _, err := ReadSessionKeyFile(f.SessionKey); err != nil {
		if err := writeNewKey(f.SessionKey, SessionKeySize); err != nil {
			return DevFiles{}, fmt.Errorf("dev material: session key: %w", err)
		}
	}
	return f, nil
}

// writeNewKey writes n random bytes, base64 and a newline, to path with
// mode 0600, replacing what is there.
func writeNewKey(path string, n int) error {
	key, err := newKey(n)
	if err != nil {
		return err
	}
	return writeFile(path, []byte(key+"\n"), 0o600, true)
}
