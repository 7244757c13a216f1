// Package chaostest runs the containerized Gallows cluster of
// docker-compose.yml under faults (killed, paused and cut-off containers, a
// full down and up) while clients play through both frontends' JSON API,
// and checks that no acknowledged guess is lost or applied twice, that
// every backend holds the same state, and that the history of every
// request (guesses, next rounds, reads) is linearizable (internal/history).
//
// The test lives in chaos_test.go and runs only when GALLOWS_CHAOS=1 (the
// Makefile's test-chaos target sets it after building the image). Each run
// uses its own compose project and free host ports, so runs can go on side
// by side and next to `make up`.
package chaostest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"

	"github.com/gallows-game/gallows/internal/pki"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// Backends is the number of backend services in docker-compose.yml
// (backend-1 .. backend-3, node ids b1 .. b3).
const Backends = 3

// Frontends is the number of frontend services (frontend-1, frontend-2).
const Frontends = 2

// Ports are the host ports a Cluster publishes.
type Ports struct {
	Frontend [Frontends]int
	GRPC     [Backends]int
	Admin    [Backends]int
}

// FreePorts picks host ports nobody listens on, so that runs of the test
// can go on side by side and next to a cluster started by `make up`. A
// port may still be taken between this and `compose up`; up then fails.
func FreePorts() (Ports, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	next := func() (int, error) {
		ln, err := net.Listen("tcp", ":0")
		if err != nil {
			return 0, fmt.Errorf("chaostest: pick a free port: %w", err)
		}
		lns = append(lns, ln)
		return ln.Addr().(*net.TCPAddr).Port, nil
	}
	var p Ports
	var err error
	for i := range Frontends {
		if p.Frontend[i], err = next(); err != nil {
			return p, err
		}
	}
	for i := range Backends {
		if p.GRPC[i], err = next(); err != nil {
			return p, err
		}
		if p.Admin[i], err = next(); err != nil {
			return p, err
		}
	}
	return p, nil
}

// ProjectPrefix starts the compose project name of every run of the test;
// a random suffix keeps concurrent runs on one Docker host apart.
const ProjectPrefix = "gallows-chaos-"

// NewProject returns a fresh project name.
func NewProject() string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return ProjectPrefix + hex.EncodeToString(b[:])
}

// env is the environment docker-compose.yml reads its ports from.
func (p Ports) env() []string {
	var out []string
	for i, port := range p.Frontend {
		out = append(out, fmt.Sprintf("GALLOWS_FRONTEND%d_PORT=%d", i+1, port))
	}
	for i := range Backends {
		out = append(out,
			fmt.Sprintf("GALLOWS_BACKEND%d_GRPC_PORT=%d", i+1, p.GRPC[i]),
			fmt.Sprintf("GALLOWS_BACKEND%d_HTTP_PORT=%d", i+1, p.Admin[i]))
	}
	return out
}

// Config says which compose file to run and how.
type Config struct {
	// Dir holds docker-compose.yml.
	Dir string
	// Project is the compose project name; it prefixes containers,
	// networks and volumes.
	Project string
	// Image is the gallows image the services run (GALLOWS_IMAGE).
	Image string
	// Ports are the published host ports.
	Ports Ports
	// Compose is the compose command: ["docker", "compose"] or
	// ["docker-compose"]; empty means FindCompose.
	Compose []string
	// Certs are the CA, certificates and keys the containers run with
	// (GALLOWS_CERTS_DIR, the directory that holds them); the test's own
	// connections present the backend certificate.
	Certs pki.DevFiles
}

// Cluster drives one compose project and talks to its nodes through the
// published ports.
type Cluster struct {
	cfg   Config
	conns [Backends]*grpc.ClientConn
	http  *http.Client
}

// FindCompose returns the compose command this machine has: the docker
// compose v2 plugin if present, else docker-compose v1.
func FindCompose() ([]string, error) {
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}, nil
	}
	if exec.Command("docker-compose", "version").Run() == nil {
		return []string{"docker-compose"}, nil
	}
	return nil, errors.New("neither `docker compose` nor `docker-compose` works on this machine")
}

// DockerWorks reports why the Docker daemon cannot be used, or nil.
func DockerWorks() error {
	out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
	if err != nil {
		return fmt.Errorf("docker info: %w: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// New prepares a Cluster; it starts nothing.
func New(cfg Config) (*Cluster, error) {
	if len(cfg.Compose) == 0 {
		c, err := FindCompose()
		if err != nil {
			return nil, err
		}
		cfg.Compose = c
	}
	m, err := pki.Load(cfg.Certs.CA, cfg.Certs.BackendCert, cfg.Certs.BackendKey)
	if err != nil {
		return nil, fmt.Errorf("chaostest: %w", err)
	}
	// Backends' admin addresses serve TLS to the cluster's certificates;
	// the frontends plain HTTP.
	c := &Cluster{cfg: cfg, http: &http.Client{Timeout: 2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: m.ClientConfig(pki.RoleBackend)}}}
	for i := range Backends {
		cc, err := grpc.NewClient("127.0.0.1:"+strconv.Itoa(cfg.Ports.GRPC[i]),
			grpc.WithTransportCredentials(credentials.NewTLS(m.ClientConfig(pki.RoleBackend))),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(512<<20)),
			// Containers come and go: reconnect within a second of one
			// coming back, not after gRPC's default backoff of up to 2 min.
			grpc.WithConnectParams(grpc.ConnectParams{
				Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
				MinConnectTimeout: 2 * time.Second,
			}))
		if err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("chaostest: dial backend %d: %w", i+1, err)
		}
		c.conns[i] = cc
	}
	return c, nil
}

// Close closes the gRPC connections; the containers keep running.
func (c *Cluster) Close() error {
	var errs []error
	for _, cc := range c.conns {
		if cc != nil {
			errs = append(errs, cc.Close())
		}
	}
	return errors.Join(errs...)
}

// ComposeCommand is the compose command in use, for messages.
func (c *Cluster) ComposeCommand() string { return strings.Join(c.cfg.Compose, " ") }

// FrontendURL is the base URL of frontend i (0-based).
func (c *Cluster) FrontendURL(i int) string {
	return "http://127.0.0.1:" + strconv.Itoa(c.cfg.Ports.Frontend[i])
}

// BackendService is the compose service of backend i (0-based): backend-1 ...
func BackendService(i int) string { return "backend-" + strconv.Itoa(i+1) }

// FrontendService is the compose service of frontend i (0-based).
func FrontendService(i int) string { return "frontend-" + strconv.Itoa(i+1) }

// BackendID is the node id of backend i (0-based): b1 ...
func BackendID(i int) string { return "b" + strconv.Itoa(i+1) }

// run runs a command and returns its standard output; the error carries
// standard error.
func run(ctx context.Context, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = env
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.String(), nil
}

// LimitScale multiplies the frontends' rate limits (GALLOWS_LIMIT_SCALE):
// every player of the workload plays from the host, one client IP to the
// frontends, far faster than a person.
const LimitScale = 100

// Compose runs the compose command on this project.
func (c *Cluster) Compose(ctx context.Context, args ...string) (string, error) {
	env := append(append(os.Environ(), c.cfg.Ports.env()...), "GALLOWS_IMAGE="+c.cfg.Image,
		"GALLOWS_LIMIT_SCALE="+strconv.Itoa(LimitScale),
		"GALLOWS_CERTS_DIR="+filepath.Dir(c.cfg.Certs.CA))
	full := append(append(slices.Clone(c.cfg.Compose[1:]),
		"--project-directory", c.cfg.Dir, "-f", c.cfg.Dir+"/docker-compose.yml", "-p", c.cfg.Project), args...)
	return run(ctx, env, c.cfg.Compose[0], full...)
}

// Docker runs a docker command.
func Docker(ctx context.Context, args ...string) (string, error) {
	return run(ctx, nil, "docker", args...)
}

// ImageExists reports whether the configured image is present locally.
func (c *Cluster) ImageExists(ctx context.Context) bool {
	_, err := Docker(ctx, "image", "inspect", c.cfg.Image)
	return err == nil
}

// Up creates and starts every service (compose up -d).
func (c *Cluster) Up(ctx context.Context) error {
	_, err := c.Compose(ctx, "up", "-d", "--no-build")
	return err
}

// Down stops and removes the containers and the network; with volumes,
// the Raft data too.
func (c *Cluster) Down(ctx context.Context, volumes bool) error {
	args := []string{"down", "--timeout", "20"}
	if volumes {
		args = append(args, "-v")
	}
	_, err := c.Compose(ctx, args...)
	return err
}

// Container returns the id of the service's container, running or not.
func (c *Cluster) Container(ctx context.Context, service string) (string, error) {
	out, err := Docker(ctx, "ps", "-a", "-q",
		"--filter", "label=com.docker.compose.project="+c.cfg.Project,
		"--filter", "label=com.docker.compose.service="+service)
	if err != nil {
		return "", err
	}
	ids := strings.Fields(out)
	if len(ids) != 1 {
		return "", fmt.Errorf("service %s: want one container, found %d", service, len(ids))
	}
	return ids[0], nil
}

// onContainer runs docker <verb> on the service's container.
func (c *Cluster) onContainer(ctx context.Context, verb, service string) error {
	id, err := c.Container(ctx, service)
	if err != nil {
		return err
	}
	_, err = Docker(ctx, verb, id)
	return err
}

// Kill sends SIGKILL to the service's container and returns when its
// process exited, as Docker recorded it.
func (c *Cluster) Kill(ctx context.Context, service string) (time.Time, error) {
	id, err := c.Container(ctx, service)
	if err != nil {
		return time.Time{}, err
	}
	if _, err := Docker(ctx, "kill", id); err != nil {
		return time.Time{}, err
	}
	var out string
	err = poll(ctx, 20*time.Millisecond, func() bool {
		out, err = Docker(ctx, "inspect", "-f", "{{.State.Running}} {{.State.FinishedAt}}", id)
		return err == nil && strings.HasPrefix(out, "false ")
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("%s still running after docker kill: %w", service, err)
	}
	died, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(strings.TrimPrefix(out, "false ")))
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: exit time: %w", service, err)
	}
	return died, nil
}

// Start starts the service's stopped container again.
func (c *Cluster) Start(ctx context.Context, service string) error {
	return c.onContainer(ctx, "start", service)
}

// Pause freezes every process of the service's container. The runtime
// gives up on a freeze that the cgroup does not reach in time (a process
// in the middle of an fsync, say: "unable to freeze") and leaves the
// container running; Pause then tries again, a few times.
func (c *Cluster) Pause(ctx context.Context, service string) error {
	var err error
	for attempt := 1; attempt <= pauseAttempts; attempt++ {
		if err = c.onContainer(ctx, "pause", service); err == nil || !strings.Contains(err.Error(), "unable to freeze") {
			return err
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("pause %s: %w (after %v)", service, ctx.Err(), err)
		}
	}
	return fmt.Errorf("pause %s: %d attempts: %w", service, pauseAttempts, err)
}

// pauseAttempts bounds Pause's tries of a freeze the runtime gave up on.
const pauseAttempts = 5

// Unpause thaws a paused container.
func (c *Cluster) Unpause(ctx context.Context, service string) error {
	return c.onContainer(ctx, "unpause", service)
}

// Disconnect takes the service's container off the project network. The
// returned function connects it again under its service name, so the
// other nodes find it by the same host name.
func (c *Cluster) Disconnect(ctx context.Context, service string) (reconnect func(context.Context) error, err error) {
	id, err := c.Container(ctx, service)
	if err != nil {
		return nil, err
	}
	out, err := Docker(ctx, "inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", id)
	if err != nil {
		return nil, err
	}
	nets := strings.Fields(out)
	if len(nets) != 1 {
		return nil, fmt.Errorf("container of %s is on networks %q, want exactly one", service, nets)
	}
	network := nets[0]
	if _, err := Docker(ctx, "network", "disconnect", network, id); err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		_, err := Docker(ctx, "network", "connect", "--alias", service, network, id)
		return err
	}, nil
}

// Logs returns the last lines of every service's log.
func (c *Cluster) Logs(ctx context.Context, tail int) string {
	out, err := c.Compose(ctx, "logs", "--no-color", "--tail", strconv.Itoa(tail))
	if err != nil {
		return out + "\n" + err.Error()
	}
	return out
}

// Game is the gRPC game client of backend i, through its published port.
func (c *Cluster) Game(i int) pb.GameClient { return pb.NewGameClient(c.conns[i]) }

// Status is the gRPC cluster client of backend i.
func (c *Cluster) Status(i int) pb.ClusterClient { return pb.NewClusterClient(c.conns[i]) }

// LocalStatus asks backend i about itself, within a second.
func (c *Cluster) LocalStatus(ctx context.Context, i int) (*pb.NodeStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return c.Status(i).LocalStatus(ctx, &pb.StatusRequest{})
}

// Leader waits until a majority of backends answer and name the same
// leader, which itself says it leads, and returns its index.
func (c *Cluster) Leader(ctx context.Context) (int, error) {
	var last string
	err := poll(ctx, 50*time.Millisecond, func() bool {
		votes := map[string]int{}
		roles := map[string]string{}
		for i := range Backends {
			st, err := c.LocalStatus(ctx, i)
			if err != nil {
				continue
			}
			roles[st.GetId()] = st.GetRole()
			if st.GetLeaderId() != "" {
				votes[st.GetLeaderId()]++
			}
		}
		for id, n := range votes {
			if n > Backends/2 && roles[id] == "leader" {
				last = id
				return true
			}
		}
		return false
	})
	if err != nil {
		return -1, fmt.Errorf("no agreed leader: %w", err)
	}
	return strconv.Atoi(strings.TrimPrefix(last, "b"))
}

// WaitGossipAlive waits until every backend's serf sees every backend
// alive: after a fault heals, the membership shown in the cluster panel is
// whole again.
func (c *Cluster) WaitGossipAlive(ctx context.Context) error {
	var last string
	err := poll(ctx, 100*time.Millisecond, func() bool {
		for i := range Backends {
			sctx, cancel := context.WithTimeout(ctx, time.Second)
			st, err := c.Status(i).Status(sctx, &pb.StatusRequest{})
			cancel()
			if err != nil {
				last = fmt.Sprintf("%s: %v", BackendService(i), err)
				return false
			}
			alive := 0
			for _, n := range st.GetNodes() {
				if n.GetSerfStatus() == "alive" {
					alive++
				}
			}
			if alive != Backends {
				last = fmt.Sprintf("%s sees %d of %d backends alive", BackendService(i), alive, Backends)
				return false
			}
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("gossip: %s: %w", last, err)
	}
	return nil
}

// ready reports whether GET url answers 200.
func (c *Cluster) ready(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// WaitReady waits until every backend's /readyz (a leader known, caught
// up) and every frontend's /readyz (a leader known) answer 200.
func (c *Cluster) WaitReady(ctx context.Context) error {
	var waiting string
	err := poll(ctx, 50*time.Millisecond, func() bool {
		for i := range Backends {
			if !c.ready(ctx, fmt.Sprintf("https://127.0.0.1:%d/readyz", c.cfg.Ports.Admin[i])) {
				waiting = BackendService(i)
				return false
			}
		}
		for i := range Frontends {
			if !c.ready(ctx, c.FrontendURL(i)+"/readyz") {
				waiting = FrontendService(i)
				return false
			}
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("waiting for %s to be ready: %w", waiting, err)
	}
	return nil
}

// MetricsOK checks that every backend's /metrics answers 200.
func (c *Cluster) MetricsOK(ctx context.Context) error {
	for i := range Backends {
		if !c.ready(ctx, fmt.Sprintf("https://127.0.0.1:%d/metrics", c.cfg.Ports.Admin[i])) {
			return fmt.Errorf("%s: /metrics does not answer 200", BackendService(i))
		}
	}
	return nil
}

// WaitConverged waits until every backend answers with the same leader,
// term, commit index and applied index, and returns that applied index.
// Call it while nothing writes.
func (c *Cluster) WaitConverged(ctx context.Context) (uint64, error) {
	var applied uint64
	var last []string
	err := poll(ctx, 50*time.Millisecond, func() bool {
		last = last[:0]
		var sts []*pb.NodeStatus
		for i := range Backends {
			st, err := c.LocalStatus(ctx, i)
			if err != nil {
				last = append(last, BackendService(i)+": "+err.Error())
				return false
			}
			sts = append(sts, st)
			last = append(last, fmt.Sprintf("%s: leader=%s term=%d commit=%d applied=%d",
				st.GetId(), st.GetLeaderId(), st.GetTerm(), st.GetCommitIndex(), st.GetAppliedIndex()))
		}
		a := sts[0]
		if a.GetLeaderId() == "" {
			return false
		}
		for _, b := range sts[1:] {
			if b.GetLeaderId() != a.GetLeaderId() || b.GetTerm() != a.GetTerm() ||
				b.GetCommitIndex() != a.GetCommitIndex() || b.GetAppliedIndex() != a.GetAppliedIndex() {
				return false
			}
		}
		applied = a.GetAppliedIndex()
		return true
	})
	if err != nil {
		return 0, fmt.Errorf("backends did not converge (%s): %w", strings.Join(last, "; "), err)
	}
	return applied, nil
}

// Rooms lists every room as backend i has applied them, by id.
func (c *Cluster) Rooms(ctx context.Context, i int) (map[string]*pb.Room, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	reply, err := c.Game(i).ListRooms(ctx, &pb.ListRoomsRequest{})
	if err != nil {
		return nil, fmt.Errorf("%s: list rooms: %w", BackendService(i), err)
	}
	out := make(map[string]*pb.Room, len(reply.GetRooms()))
	for _, r := range reply.GetRooms() {
		out[r.GetId()] = r
	}
	return out, nil
}

// poll calls cond every interval until it holds or ctx ends.
func poll(ctx context.Context, interval time.Duration, cond func() bool) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
