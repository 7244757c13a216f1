package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/gallows-game/gallows/frontend"
	"github.com/gallows-game/gallows/internal/pki"
)

// devBackends is how many backends gallows dev runs.
const devBackends = 3

// Offsets from --base-port of each kind of backend port, to which a
// backend adds its position (0, 1, 2).
const (
	devRaftOffset  = 0
	devSerfOffset  = 10
	devGRPCOffset  = 20
	devAdminOffset = 30
)

// devStartTimeout bounds the wait for a leader and a ready frontend;
// devStopTimeout the backends' graceful stop.
const (
	devStartTimeout = 30 * time.Second
	devStopTimeout  = 20 * time.Second
)

// runDev runs the whole system on loopback: each backend a child process
// of this binary (gallows backend), the frontend in this process. Ctrl-C
// stops the frontend, then every backend, and waits for them.
func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "", "keep the cluster's data here (default: a temp dir, removed on exit)")
	basePort := fs.Int("base-port", 17000, "first of the loopback ports the backends use: Raft from it, serf from +10, gRPC from +20, admin HTTPS from +30")
	httpAddr := fs.String("http-addr", "127.0.0.1:8080", "where the frontend serves the game")
	faultButtons := fs.Bool("fault-buttons", false, "put kill -9, restart, freeze and cut-off buttons on the cluster panel (make dev sets it)")
	var level levelFlag
	level.LevelVar.Set(slog.LevelWarn)
	fs.Var(&level, "log-level", "debug, info, warn or error (the backends' lines too, each after its id)")
	if err := parse(fs, args, stderr, "gallows dev: the whole system (3 backend processes, 1 frontend) on loopback in one command."); err != nil {
		return err
	}
	if *basePort < 1024 || *basePort+32 > 65535 {
		return fmt.Errorf("dev: --base-port %d: want 1024 to %d (the backends use the 33 ports from it)", *basePort, 65535-32)
	}
	if err := portsFree(*httpAddr, *basePort); err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("dev: find this program to run the backends: %w", err)
	}
	log := newLogger(stderr, &level)
	dir := *dataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "gallows-dev-")
		if err != nil {
			return fmt.Errorf("dev: temp dir: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	certs, err := pki.CreateDev(filepath.Join(dir, "certs"))
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	backendTLS, err := pki.Load(certs.CA, certs.BackendCert, certs.BackendKey)
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	frontendTLS, err := pki.Load(certs.CA, certs.FrontendCert, certs.FrontendKey)
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	sessionKey, err := frontend.ReadSessionKey(certs.SessionKey)
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}

	port := func(offset, i int) string {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(*basePort+offset+i))
	}
	sup := newSupervisor(bin, stderr, log, backendTLS.ClientConfig(pki.RoleBackend))
	var grpcAddrs []string
	for i := range devBackends {
		id := "b" + strconv.Itoa(i+1)
		var join []string
		for j := range devBackends {
			if j != i {
				join = append(join, port(devSerfOffset, j))
			}
		}
		args := []string{
			"--id", id, "--data-dir", filepath.Join(dir, id),
			"--raft-addr", port(devRaftOffset, i), "--serf-addr", port(devSerfOffset, i),
			"--grpc-addr", port(devGRPCOffset, i), "--http-addr", port(devAdminOffset, i),
			"--bootstrap-expect", strconv.Itoa(devBackends), "--join", strings.Join(join, ","),
			"--tls-ca", certs.CA, "--tls-cert", certs.BackendCert, "--tls-key", certs.BackendKey,
			"--gossip-key-file", certs.GossipKey, "--log-level", level.String(),
		}
		if *faultButtons {
			args = append(args, "--dev-faults")
		}
		sup.add(id, args, port(devAdminOffset, i))
		grpcAddrs = append(grpcAddrs, port(devGRPCOffset, i))
	}
	conns, err := devConns(grpcAddrs, frontendTLS)
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	defer func() {
		for _, cc := range conns {
			_ = cc.Close()
		}
	}()
	for _, id := range sup.order {
		if err := sup.start(id); err != nil {
			sup.killAll()
			return err
		}
	}
	stopBackends := func() error {
		sctx, cancel := context.WithTimeout(context.Background(), devStopTimeout)
		defer cancel()
		// The followers first, the leader last: leadership stays put
		// while the others leave, and the leader's serf leave, the last,
		// has nobody left to wait for.
		qctx, qcancel := context.WithTimeout(sctx, time.Second)
		leader := ""
		if st, err := clusterStatus(qctx, conns); err == nil {
			leader = agreedLeader(st)
		}
		qcancel()
		return sup.stopAll(sctx, leader)
	}

	wctx, cancel := context.WithTimeout(ctx, devStartTimeout)
	defer cancel()
	leader, err := devWaitLeader(wctx, sup, conns)
	if err != nil {
		serr := stopBackends()
		if ctx.Err() != nil {
			return serr // stopped (Ctrl-C) before the cluster was up
		}
		return errors.Join(fmt.Errorf("dev: %w", err), serr)
	}
	fc := frontend.Config{
		ID: "f1", HTTPAddr: *httpAddr, Backends: grpcAddrs, Logger: log,
		SessionKey: sessionKey, TLS: frontendTLS,
	}
	if *faultButtons {
		fc.Faults = sup
	}
	fe, err := frontend.Start(fc)
	if err != nil {
		return errors.Join(fmt.Errorf("dev: %w", err), stopBackends())
	}
	stop := func() error {
		sctx, cancel := context.WithTimeout(context.Background(), devStopTimeout)
		defer cancel()
		ferr := fe.Shutdown(sctx)
		return errors.Join(ferr, stopBackends(), removeDevState(os.Getpid()))
	}
	if err := devWaitReady(wctx, fe.URL()); err != nil {
		serr := stop()
		if ctx.Err() != nil {
			return serr
		}
		return errors.Join(fmt.Errorf("dev: %w", err), serr)
	}
	certsDir := filepath.Dir(certs.CA)
	if err := writeDevState(devState{PID: os.Getpid(), URL: fe.URL(), Backends: grpcAddrs, CertsDir: certsDir, DataDir: dir}); err != nil {
		log.Info("gallows status will not find this cluster by itself", "err", err)
	}

	url := fe.URL()
	fmt.Fprintf(stdout, "gallows dev: %d backend processes up, leader %s, data in %s\n", devBackends, leader, dir)
	for i := range devBackends {
		fmt.Fprintf(stdout, "  backend b%d  raft %s  serf %s  grpc %s  admin https://%s/readyz\n", i+1,
			port(devRaftOffset, i), port(devSerfOffset, i), port(devGRPCOffset, i), port(devAdminOffset, i))
	}
	fmt.Fprintf(stdout, "  certificates and keys in %s; gallows status finds this cluster while it runs\n", certsDir)
	fmt.Fprintf(stdout, "\nPlay at %s  (cluster panel: %s/cluster", url, url)
	if *faultButtons {
		fmt.Fprint(stdout, ", with fault buttons")
	}
	fmt.Fprint(stdout, ")\nPress Ctrl-C to stop.\n")

	// nil once ctx is done (Ctrl-C), or the frontend's error.
	werr := fe.Wait(ctx)
	log.Info("stopping: the frontend, then the backends")
	return errors.Join(werr, stop())
}

// devConns are gRPC connections to the backends at addrs, with the
// certificate m, for dev's own status calls.
func devConns(addrs []string, m *pki.Material) ([]*grpc.ClientConn, error) {
	creds := grpc.WithTransportCredentials(credentials.NewTLS(m.ClientConfig(pki.RoleBackend)))
	var conns []*grpc.ClientConn
	for _, a := range addrs {
		cc, err := grpc.NewClient(a, creds)
		if err != nil {
			for _, cc := range conns {
				_ = cc.Close()
			}
			return nil, fmt.Errorf("backend %s: %w", a, err)
		}
		conns = append(conns, cc)
	}
	return conns, nil
}

// devWaitLeader waits until a backend names a leader that itself says it
// leads, and returns its id. It gives up early if a backend exits.
func devWaitLeader(ctx context.Context, sup *supervisor, conns []*grpc.ClientConn) (string, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if id, err := sup.exited(); id != "" {
			return "", fmt.Errorf("backend %s exited (%v) before the cluster was up: its log is above", id, err)
		}
		qctx, cancel := context.WithTimeout(ctx, time.Second)
		st, err := clusterStatus(qctx, conns)
		cancel()
		if err == nil {
			if leader := agreedLeader(st); leader != "" {
				return leader, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no leader within %v: %w", devStartTimeout, context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// devWaitReady waits until the frontend at base answers /readyz: it knows
// the leader.
func devWaitReady(ctx context.Context, base string) error {
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the frontend is not ready: %w", context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// portsFree reports the first port dev needs that another program holds:
// the frontend's address, then each backend's Raft, serf, gRPC and admin
// ports from base, before anything starts.
func portsFree(httpAddr string, base int) error {
	check := func(addr, flagName string) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s is in use (another gallows dev?): choose another with %s", addr, flagName)
		}
		return ln.Close()
	}
	if err := check(httpAddr, "--http-addr"); err != nil {
		return err
	}
	for _, offset := range []int{devRaftOffset, devSerfOffset, devGRPCOffset, devAdminOffset} {
		for i := range devBackends {
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(base+offset+i))
			if err := check(addr, "--base-port"); err != nil {
				return err
			}
			if offset == devSerfOffset { // gossip uses UDP on the same port
				pc, err := net.ListenPacket("udp", addr)
				if err != nil {
					return fmt.Errorf("%s (UDP) is in use (another gallows dev?): choose another with --base-port", addr)
				}
				_ = pc.Close()
			}
		}
	}
	return nil
}
