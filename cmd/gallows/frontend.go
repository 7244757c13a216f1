package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/gallows-game/gallows/frontend"
)

func runFrontend(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("frontend", flag.ContinueOnError)
	var cfg frontend.Config
	var backends, origins listFlag
	var level levelFlag
	var sec tlsFlags
	fs.StringVar(&cfg.ID, "id", "f1", "name of this frontend, shown on its pages")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", "127.0.0.1:8080", "host:port to serve pages, the JSON API and websockets on")
	fs.Var(&backends, "backends", "backend gRPC host:port addresses, comma-separated (the rest of the cluster is learned from them)")
	fs.Var(&origins, "allowed-origins", "other origins allowed to open websockets and post forms, e.g. https://play.example.com")
	fs.Var(&level, "log-level", "debug, info, warn or error")
	var proxies listFlag
	fs.Var(&proxies, "trusted-proxies", "reverse proxies (CIDRs or addresses, comma-separated) whose X-Forwarded-For gives the client IP for the rate limits; default none: the peer address counts")
	keyFile := fs.String("session-key-file", "", "file holding the key that signs players' sessions: base64 of 32 random bytes and a newline (e.g. head -c32 /dev/urandom | base64); every frontend of a cluster needs the same. Empty: a random key, and sessions work on this frontend only, until it restarts")
	limitScale := fs.Float64("limit-scale", 1, "multiply every rate limit (per client IP, session and websocket) by this, e.g. 100 for a load test from one address")
	sec.register(fs, false, false)
	if err := parse(fs, args, stderr, "gallows frontend: serve the game to browsers."); err != nil {
		return err
	}
	var err error
	if cfg.TLS, err = sec.material(); err != nil {
		return err
	}
	cfg.Insecure = sec.insecure
	cfg.Backends, cfg.AllowedOrigins = backends, origins
	if *keyFile != "" {
		key, err := frontend.ReadSessionKey(*keyFile)
		if err != nil {
			return err
		}
		cfg.SessionKey = key
	}
	limits, err := frontendLimits(*limitScale, proxies)
	if err != nil {
		return err
	}
	cfg.Limits = limits
	cfg.Logger = newLogger(stderr, &level)
	s, err := frontend.Start(cfg)
	if err != nil {
		return err
	}
	cfg.Logger.Info("serving", "url", s.URL())
	werr := s.Wait(ctx)
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return werr
}
