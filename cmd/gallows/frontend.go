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
