package backend_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"
	"github.com/hashicorp/serf/serf"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/gallows-game/gallows/backend/internal/membership"
	"github.com/gallows-game/gallows/backend/internal/store"
	"github.com/gallows-game/gallows/gameclient"
	"github.com/gallows-game/gallows/internal/localcluster"
	"github.com/gallows-game/gallows/internal/localcluster/localtest"
	"github.com/gallows-game/gallows/internal/pki"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of loggers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// outsiderSerf is a serf member that says it is a gallows backend, with
// key as its gossip key (nil: none).
func outsiderSerf(t *testing.T, key []byte) *serf.Serf {
	t.Helper()
	sc := serf.DefaultConfig()
	sc.NodeName = "evil"
	sc.Tags = membership.Tags{ID: "evil", RaftAddr: "127.0.0.1:1", GRPCAddr: "127.0.0.1:2", HTTPAddr: "127.0.0.1:3"}.Map()
	sc.LogOutput = io.Discard
	sc.MemberlistConfig = memberlist.DefaultLANConfig()
	sc.MemberlistConfig.LogOutput = io.Discard
	sc.MemberlistConfig.BindAddr, sc.MemberlistConfig.BindPort = "127.0.0.1", 0
	sc.MemberlistConfig.TCPTimeout = 2 * time.Second
	if key != nil {
		sc.MemberlistConfig.SecretKey = key
	}
	s, err := serf.Create(sc)
	if err != nil {
		t.Fatalf("outsider serf: %v", err)
	}
	t.Cleanup(func() { _ = s.Shutdown() })
	return s
}

// membersAndVoters is what an outsider must not change: every node's
// view of the backends (serf) and the Raft configuration.
func membersAndVoters(t *testing.T, c *localtest.Cluster) string {
	t.Helper()
	var views []string
	for _, n := range c.Running() {
		st, err := c.ClusterClient(n.ID()).Status(localtest.Context(t, 5*time.Second), &pb.StatusRequest{})
		if err != nil {
			t.Fatalf("status of %s: %v", n.ID(), err)
		}
		var ids []string
		for _, node := range st.GetNodes() {
			ids = append(ids, node.GetId())
		}
		voters, err := n.Voters()
		if err != nil {
			t.Fatalf("voters of %s: %v", n.ID(), err)
		}
		slices.Sort(voters)
		views = append(views, n.ID()+": members "+strings.Join(ids, ",")+" voters "+strings.Join(voters, ","))
	}
	return strings.Join(views, "; ")
}

// An outsider without the gossip key, or with another key, cannot join
// serf: the join fails and no node's member list or Raft configuration
// changes.
func TestOutsiderCannotJoinGossip(t *testing.T) {
	c := localtest.Start(t, localcluster.Config{Backends: 3})
	c.Leader()
	before := membersAndVoters(t, c)
	otherKey, err := pki.NewGossipKey()
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.ParseGossipKey(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		key  []byte
	}{{"no key", nil}, {"another key", other}} {
		t.Run(tc.name, func(t *testing.T) {
			evil := outsiderSerf(t, tc.key)
			n, err := evil.Join([]string{c.Node("b1").SerfAddr()}, true)
			if err == nil {
				t.Fatalf("outsider joined %d members", n)
			}
			t.Logf("join refused: %v", err)
			if got := len(evil.Members()); got != 1 {
				t.Errorf("outsider sees %d members, want only itself", got)
			}
			if after := membersAndVoters(t, c); after != before {
				t.Errorf("membership changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// forgedVote sends a RequestVote that would depose the leader if taken
// (a later term, a longer log, the leadership-transfer flag) over stream.
func forgedVote(stream raft.StreamLayer, leader raft.ServerAddress, term uint64) error {
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: stream, MaxPool: 1, Timeout: 2 * time.Second, Logger: nil,
	})
	defer func() { _ = trans.Close() }()
	var resp raft.RequestVoteResponse
	return trans.RequestVote("b1", leader, &raft.RequestVoteRequest{
		RPCHeader:          raft.RPCHeader{ID: []byte("b2"), Addr: []byte("127.0.0.1:1")},
		Term:               term + 1,
		LastLogIndex:       1 << 40,
		LastLogTerm:        term + 1,
		LeadershipTransfer: true,
	}, &resp)
}

// dialStream is a raft.StreamLayer that only dials, over network.
type dialStream struct {
	net.Listener
	network store.Network
}

func (d dialStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.network.Dial(ctx, string(addr))
}

// Only backends talk Raft: a vote forged in plaintext, or over TLS with a
// frontend's certificate or one of another CA, never reaches Raft; the
// leader and its term stay, and the refusal is logged with its reason.
func TestOutsiderCannotTalkRaft(t *testing.T) {
	logs := &syncBuffer{}
	c := localtest.Start(t, localcluster.Config{Backends: 3,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	leader := c.Leader()
	term := leader.Stats().Term

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	stranger, err := pki.CreateDev(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	expiredCert, expiredKey, err := pki.IssueCert(filepath.Dir(c.Certs().CA), t.TempDir(), pki.CertRequest{
		Role: pki.RoleBackend, Name: "expired", NotBefore: time.Now().Add(-48 * time.Hour), Validity: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		network store.Network
		reason  string
	}{
		{"plaintext", store.TCP{}, ""},
		{"frontend certificate", store.TLS(store.TCP{}, nil, attacker(t, c.Certs().FrontendCert, c.Certs().FrontendKey)), "role frontend"},
		{"another CA", store.TLS(store.TCP{}, nil, attacker(t, stranger.BackendCert, stranger.BackendKey)), "unknown authority"},
		{"no certificate", store.TLS(store.TCP{}, nil, &tls.Config{InsecureSkipVerify: true}), "no certificate"},
		{"expired backend certificate", store.TLS(store.TCP{}, nil, attacker(t, expiredCert, expiredKey)), "expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := forgedVote(dialStream{Listener: ln, network: tc.network}, raft.ServerAddress(leader.RaftAddr()), term)
			if err == nil {
				t.Fatal("the forged vote was answered")
			}
			t.Logf("refused: %v", err)
			if tc.reason != "" {
				localtest.Poll(t, 5*time.Second, "a log line naming the reason "+tc.reason, func() bool {
					return strings.Contains(logs.String(), tc.reason)
				})
			}
		})
	}
	if now := c.Leader(); now.ID() != leader.ID() || now.Stats().Term != term {
		t.Errorf("leader %s term %d became %s term %d", leader.ID(), term, now.ID(), now.Stats().Term)
	}
}

// attacker is the TLS configuration of a client that presents the given
// certificate and trusts any server, so that only the server's checks
// stand in its way.
func attacker(t *testing.T, certFile, keyFile string) *tls.Config {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true} //nolint:gosec // an attacker's client
}

// grpcConn dials addr with cfg (nil: plaintext) and closes the connection
// when the test ends.
func grpcConn(t *testing.T, addr string, cfg *tls.Config) *grpc.ClientConn {
	t.Helper()
	creds := insecure.NewCredentials()
	if cfg != nil {
		creds = credentials.NewTLS(cfg)
	}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// gRPC takes only certificates of the cluster's CA, and node-only calls
// only from backends: a frontend's certificate may play and read the
// status, not take a read index, change the keyring or pose as a
// forwarding node.
func TestGRPCNeedsTheRightCertificate(t *testing.T) {
	c := localtest.Start(t, localcluster.Config{Backends: 3})
	leader := c.Leader()
	addr := leader.GRPCAddr()
	stranger, err := pki.CreateDev(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	frontendConn := grpcConn(t, addr, c.ClientTLS(pki.RoleFrontend))
	backendConn := grpcConn(t, addr, c.ClientTLS(pki.RoleBackend))
	strangerConn := grpcConn(t, addr, attacker(t, stranger.BackendCert, stranger.BackendKey))
	noCertConn := grpcConn(t, addr, &tls.Config{InsecureSkipVerify: true})
	plainConn := grpcConn(t, addr, nil)

	readStatus := func(cc *grpc.ClientConn) error {
		_, err := pb.NewClusterClient(cc).Status(localtest.Context(t, 5*time.Second), &pb.StatusRequest{})
		return err
	}
	readIndex := func(cc *grpc.ClientConn) error {
		_, err := pb.NewClusterClient(cc).ReadIndex(localtest.Context(t, 5*time.Second), &pb.ReadIndexRequest{})
		return err
	}
	keyring := func(cc *grpc.ClientConn) error {
		_, err := pb.NewClusterClient(cc).Keyring(localtest.Context(t, 10*time.Second), &pb.KeyringRequest{Op: pb.KeyringRequest_OP_LIST})
		return err
	}
	forwarded := func(cc *grpc.ClientConn) error {
		ctx := metadata.AppendToOutgoingContext(localtest.Context(t, 5*time.Second), "x-gallows-forwarded-by", "b2")
		_, err := pb.NewGameClient(cc).CreateRoom(ctx, &pb.CreateRoomRequest{Host: "ana", PlayerId: gameclient.BotPlayerID("ana"), Word: "secret", RequestId: newRequestID("forged")})
		return err
	}
	for _, tc := range []struct {
		name string
		conn *grpc.ClientConn
		call func(*grpc.ClientConn) error
		want codes.Code
	}{
		{"backend reads the status", backendConn, readStatus, codes.OK},
		{"frontend reads the status", frontendConn, readStatus, codes.OK},
		{"backend takes a read index", backendConn, readIndex, codes.OK},
		{"backend lists the keyring", backendConn, keyring, codes.OK},
		{"frontend takes a read index", frontendConn, readIndex, codes.PermissionDenied},
		{"frontend lists the keyring", frontendConn, keyring, codes.PermissionDenied},
		{"frontend poses as a forwarding node", frontendConn, forwarded, codes.PermissionDenied},
		{"plaintext reads the status", plainConn, readStatus, codes.Unavailable},
		{"another CA reads the status", strangerConn, readStatus, codes.Unavailable},
		{"no certificate reads the status", noCertConn, readStatus, codes.Unavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(tc.conn)
			if got := status.Code(err); got != tc.want {
				t.Fatalf("code %v (%v), want %v", got, err, tc.want)
			}
		})
	}
}

// keyringOp runs a keyring operation through backend id.
func keyringOp(t *testing.T, c *localtest.Cluster, id string, op pb.KeyringRequest_Op, key string) *pb.KeyringReply {
	t.Helper()
	reply, err := c.ClusterClient(id).Keyring(localtest.Context(t, 20*time.Second), &pb.KeyringRequest{Op: op, Key: key})
	if err != nil {
		t.Fatalf("keyring %v: %v", op, err)
	}
	return reply
}

// The gossip key is rotated while players guess: install, use, remove.
// Every guess is acknowledged, every node stays alive in everyone's view,
// the old key no longer opens the cluster, and a node restarted after the
// rotation comes back with the new key from its keyring file.
func TestGossipKeyRotationUnderTraffic(t *testing.T) {
	c := localtest.Start(t, localcluster.Config{Backends: 3})
	c.Leader()
	oldKey, err := pki.ReadGossipKeyFile(c.Certs().GossipKey)
	if err != nil {
		t.Fatal(err)
	}
	newKey, err := pki.NewGossipKey()
	if err != nil {
		t.Fatal(err)
	}
	game := pb.NewGameClient(grpcConn(t, c.Node("b1").GRPCAddr(), c.ClientTLS(pki.RoleFrontend)))

	// Players guess through b1 until the rotation is over, in one room
	// after another; acked holds every acknowledged guess by room.
	ctx, stop := context.WithCancel(context.Background())
	var (
		wg      sync.WaitGroup
		acked   = map[string][]string{}
		failure error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			reply, err := game.CreateRoom(localtest.Context(t, 10*time.Second), &pb.CreateRoomRequest{
				Host: "ana", PlayerId: gameclient.BotPlayerID("ana"), Word: "quick brown fox jumps lazy dog", MaxLives: 26, RequestId: newRequestID("ana-create")})
			if err != nil {
				failure = err
				return
			}
			room := reply.GetRoom()
			for _, l := range alphabet {
				if ctx.Err() != nil {
					return
				}
				_, err := localtest.Guess(localtest.Context(t, 10*time.Second), game, &pb.GuessRequest{
					RoomId: room.GetId(), Player: "bo", PlayerId: gameclient.BotPlayerID("bo"), Letter: string(l), RequestId: newRequestID("bo")})
				if err != nil {
					failure = err
					return
				}
				acked[room.GetId()] = append(acked[room.GetId()], string(l))
			}
		}
	}()

	allAlive := func(step string) {
		localtest.Poll(t, 10*time.Second, "every node alive after "+step, func() bool {
			for _, n := range c.Running() {
				st, err := c.ClusterClient(n.ID()).Status(localtest.Context(t, 5*time.Second), &pb.StatusRequest{})
				if err != nil || len(st.GetNodes()) != 3 {
					return false
				}
				for _, node := range st.GetNodes() {
					if node.GetSerfStatus() != "alive" {
						return false
					}
				}
			}
			return true
		})
	}
	oldB64 := base64.StdEncoding.EncodeToString(oldKey)
	keyringOp(t, c, "b1", pb.KeyringRequest_OP_INSTALL, newKey)
	allAlive("install")
	keyringOp(t, c, "b2", pb.KeyringRequest_OP_USE, newKey)
	allAlive("use")
	keyringOp(t, c, "b3", pb.KeyringRequest_OP_REMOVE, oldB64)
	allAlive("remove")
	list := keyringOp(t, c, "b1", pb.KeyringRequest_OP_LIST, "")
	if len(list.GetKeys()) != 1 || list.GetKeys()[newKey] != 3 || list.GetPrimaryKeys()[newKey] != 3 {
		t.Errorf("keyring after rotation = keys %v primary %v, want only the new key on 3 members", list.GetKeys(), list.GetPrimaryKeys())
	}
	stop()
	wg.Wait()
	if failure != nil {
		t.Fatalf("a guess failed during the rotation: %v", failure)
	}
	leader := c.Leader()
	guesses := 0
	for id, letters := range acked {
		guesses += len(letters)
		localtest.Poll(t, 10*time.Second, "every acknowledged guess of room "+id+" applied on the leader", func() bool {
			r, ok := leader.Room(id)
			if !ok {
				return false
			}
			for _, l := range letters {
				if !slices.Contains(r.Guessed, l) {
					return false
				}
			}
			return true
		})
	}
	t.Logf("%d guesses in %d rooms acknowledged during the rotation", guesses, len(acked))
	if guesses == 0 {
		t.Fatal("no guess was made during the rotation")
	}

	if _, err := outsiderSerf(t, oldKey).Join([]string{c.Node("b1").SerfAddr()}, true); err == nil {
		t.Error("the old key still opens the cluster")
	}
	c.Kill("b3")
	c.Restart("b3")
	allAlive("restart of b3 with its keyring file")
}
