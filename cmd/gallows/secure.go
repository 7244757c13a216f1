package main

import (
	"errors"
	"flag"
	"fmt"
	"path/filepath"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/gallows-game/gallows/internal/pki"
)

// tlsFlags are the flags that secure a server or a client: the cluster's
// CA, this process's certificate and key, and, for backends, the gossip
// key; or --insecure.
type tlsFlags struct {
	ca, cert, key string
	gossipKeyFile string
	certsDir      string
	insecure      bool
}

// register adds the flags to fs: gossip adds --gossip-key-file (servers
// of serf), client adds --certs-dir (commands that call the cluster).
func (f *tlsFlags) register(fs *flag.FlagSet, gossip, client bool) {
	f.registerFiles(fs, client)
	if gossip {
		fs.StringVar(&f.gossipKeyFile, "gossip-key-file", "", "file holding the base64 gossip encryption key (from gallows gossip-key); it seeds the keyring kept in the data dir")
	}
	fs.BoolVar(&f.insecure, "insecure", false, "run without TLS and gossip encryption: anyone who reaches the ports can join the cluster and play as anyone (loopback trials only)")
}

// registerFiles adds the certificate flags alone.
func (f *tlsFlags) registerFiles(fs *flag.FlagSet, certsDir bool) {
	fs.StringVar(&f.ca, "tls-ca", "", "the cluster's CA certificate (ca.pem from gallows tls ca)")
	fs.StringVar(&f.cert, "tls-cert", "", "this process's certificate (from gallows tls cert)")
	fs.StringVar(&f.key, "tls-key", "", "the key of --tls-cert")
	if certsDir {
		fs.StringVar(&f.certsDir, "certs-dir", "", "a directory holding ca.pem, backend.pem and backend-key.pem (what gallows dev and make up create), instead of --tls-ca, --tls-cert and --tls-key")
	}
}

// none reports whether no certificate flag and no --insecure was given.
func (f *tlsFlags) none() bool {
	return f.ca == "" && f.cert == "" && f.key == "" && f.certsDir == "" && !f.insecure
}

// material loads the certificate, or returns nil when --insecure or no
// TLS flag is given (the caller's Validate then says what is missing).
func (f *tlsFlags) material() (*pki.Material, error) {
	if f.certsDir != "" {
		if f.ca != "" || f.cert != "" || f.key != "" {
			return nil, errors.New("--certs-dir or --tls-ca, --tls-cert and --tls-key: choose one")
		}
		f.ca = filepath.Join(f.certsDir, pki.CAFile)
		f.cert = filepath.Join(f.certsDir, "backend.pem")
		f.key = filepath.Join(f.certsDir, "backend-key.pem")
	}
	if f.ca == "" && f.cert == "" && f.key == "" {
		return nil, nil
	}
	if f.ca == "" || f.cert == "" || f.key == "" {
		return nil, errors.New("--tls-ca, --tls-cert and --tls-key go together: give all three")
	}
	if f.insecure {
		return nil, errors.New("--insecure with --tls-ca, --tls-cert and --tls-key: choose one")
	}
	return pki.Load(f.ca, f.cert, f.key)
}

// gossipKey reads --gossip-key-file, if given.
func (f *tlsFlags) gossipKey() ([]byte, error) {
	if f.gossipKeyFile == "" {
		return nil, nil
	}
	key, err := pki.ReadGossipKeyFile(f.gossipKeyFile)
	if err != nil {
		return nil, fmt.Errorf("--gossip-key-file: %w", err)
	}
	return key, nil
}

// dialOption is the transport security of a command that calls the
// backends: TLS with the given certificate, or plaintext with --insecure.
func (f *tlsFlags) dialOption() (grpc.DialOption, error) {
	m, err := f.material()
	if err != nil {
		return nil, err
	}
	if m == nil {
		if !f.insecure {
			return nil, errors.New("the cluster needs a certificate: give --certs-dir, or --tls-ca, --tls-cert and --tls-key (or --insecure for a cluster run with --insecure)")
		}
		return grpc.WithTransportCredentials(insecure.NewCredentials()), nil
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(m.ClientConfig(pki.RoleBackend))), nil
}
