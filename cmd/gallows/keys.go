package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/gallows-game/gallows/internal/pki"
)

const tlsUsage = `gallows tls: create a CA and node certificates for the cluster's mutual TLS.

Usage:
  gallows tls ca --out DIR
      a new CA: DIR/ca.pem (give it to every node) and DIR/ca-key.pem (keep it safe)
  gallows tls cert --ca DIR --role backend|frontend --name NAME [--host h1,h2] [--out DIR] [--days N]
      a node certificate signed by the CA in DIR: NAME.pem and NAME-key.pem
  gallows tls dev --out DIR [--host h1,h2]
      everything one system needs, where missing: a CA, a backend and a frontend
      certificate, a gossip key and a session key (what make up and gallows dev use)

Run "gallows tls <ca|cert> --help" for the flags.
`

// maxCertDays is the longest validity tls cert issues: a CA lasts 10 years.
const maxCertDays = 3650

func runTLS(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, tlsUsage)
		return errors.New("tls: missing subcommand: want ca, cert or dev")
	}
	switch args[0] {
	case "ca":
		return runTLSCA(args[1:], stdout, stderr)
	case "cert":
		return runTLSCert(args[1:], stdout, stderr)
	case "dev":
		return runTLSDev(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stderr, tlsUsage)
		return flag.ErrHelp
	default:
		fmt.Fprint(stderr, tlsUsage)
		return fmt.Errorf("tls: unknown subcommand %q: want ca, cert or dev", args[0])
	}
}

func runTLSCA(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tls ca", flag.ContinueOnError)
	out := fs.String("out", "", "directory to write ca.pem and ca-key.pem into, created if missing (required)")
	if err := parse(fs, args, stderr, "gallows tls ca: create a CA (ca.pem, ca-key.pem) valid 10 years; it never overwrites one."); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("tls ca: --out is required: the directory for ca.pem and ca-key.pem")
	}
	if err := pki.CreateCA(*out); err != nil {
		return err
	}
	fmt.Fprintln(stdout, filepath.Join(*out, pki.CAFile))
	fmt.Fprintln(stdout, filepath.Join(*out, pki.CAKeyFile))
	return nil
}

func runTLSCert(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tls cert", flag.ContinueOnError)
	var hosts listFlag
	caDir := fs.String("ca", "", "directory holding ca.pem and ca-key.pem (required)")
	role := fs.String("role", "", "backend or frontend: which listeners accept the certificate (required)")
	name := fs.String("name", "", "certificate name (its CN) and file base name, e.g. b1 for b1.pem and b1-key.pem (required)")
	fs.Var(&hosts, "host", "DNS names and IP addresses the node is reached at, comma-separated (for the SANs)")
	out := fs.String("out", "", "directory to write the certificate and key into (default: the --ca directory)")
	days := fs.Int("days", 365, "days the certificate is valid")
	if err := parse(fs, args, stderr, "gallows tls cert: issue a node certificate signed by the CA."); err != nil {
		return err
	}
	if *caDir == "" {
		return errors.New("tls cert: --ca is required: the directory holding ca.pem and ca-key.pem")
	}
	if *role == "" {
		return errors.New("tls cert: --role is required: backend or frontend")
	}
	r, err := pki.ParseRole(*role)
	if err != nil {
		return fmt.Errorf("tls cert: --role: %w", err)
	}
	if *name == "" {
		return errors.New("tls cert: --name is required, e.g. --name b1")
	}
	if *days < 1 || *days > maxCertDays {
		return fmt.Errorf("tls cert: --days %d: want 1 to %d", *days, maxCertDays)
	}
	if *out == "" {
		*out = *caDir
	}
	certPath, keyPath, err := pki.IssueCert(*caDir, *out, pki.CertRequest{
		Role:     r,
		Name:     *name,
		Hosts:    hosts,
		Validity: time.Duration(*days) * 24 * time.Hour,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, certPath)
	fmt.Fprintln(stdout, keyPath)
	return nil
}

func runTLSDev(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tls dev", flag.ContinueOnError)
	var hosts listFlag
	out := fs.String("out", "", "directory to keep the files in, created if missing (required)")
	fs.Var(&hosts, "host", "DNS names and IP addresses the nodes are reached at, comma-separated, besides localhost")
	if err := parse(fs, args, stderr, "gallows tls dev: create what one system needs where it is missing (CA, backend.pem, frontend.pem, gossip.key, session.key); files that are there and valid are kept."); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("tls dev: --out is required: the directory for the files")
	}
	files, err := pki.CreateDev(*out, hosts...)
	if err != nil {
		return err
	}
	for _, f := range []string{files.CA, files.BackendCert, files.FrontendCert, files.GossipKey, files.SessionKey} {
		fmt.Fprintln(stdout, f)
	}
	return nil
}

func runGossipKey(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gossip-key", flag.ContinueOnError)
	if err := parse(fs, args, stderr, "gallows gossip-key: print a new gossip encryption key (32 random bytes, base64) for serf."); err != nil {
		return err
	}
	key, err := pki.NewGossipKey()
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, key)
	return nil
}
