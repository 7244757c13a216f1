package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gallows-game/gallows/internal/pki"
)

func runHealthcheck(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8000", "host:port of the node's HTTP server")
	path := fs.String("path", "/healthz", "path to check: /healthz (alive) or /readyz (has a leader, caught up)")
	https := fs.Bool("https", false, "the address serves TLS, as a secured backend's admin address does: present the certificate of --certs-dir or --tls-ca, --tls-cert and --tls-key")
	var sec tlsFlags
	sec.registerFiles(fs, true)
	if err := parse(fs, args, stderr, "gallows healthcheck: exit 0 if the node answers 200."); err != nil {
		return err
	}
	client, scheme := http.DefaultClient, "http://"
	if *https {
		m, err := sec.material()
		if err != nil {
			return fmt.Errorf("healthcheck: %w", err)
		}
		if m == nil {
			return errors.New("healthcheck: --https needs a certificate: --certs-dir, or --tls-ca, --tls-cert and --tls-key")
		}
		client = &http.Client{Transport: &http.Transport{TLSClientConfig: m.ClientConfig(pki.RoleBackend)}}
		scheme = "https://"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+*addr+*path, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s%s answered %s", *addr, *path, resp.Status)
	}
	return nil
}
