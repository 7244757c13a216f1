package rpc

import (
	"context"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/gallows-game/gallows/backend/internal/proxy"
	"github.com/gallows-game/gallows/internal/pki"
	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// nodeOnly lists the methods only backends may call: a read index hands
// out the leader's commit point, the keyring changes the gossip keys, and
// sync and push are the scores replicas' anti-entropy.
var nodeOnly = map[string]bool{
	pb.Cluster_ReadIndex_FullMethodName: true,
	pb.Cluster_Keyring_FullMethodName:   true,
	pb.Scores_Sync_FullMethodName:       true,
	pb.Scores_Push_FullMethodName:       true,
}

// authorizer checks, on a server with mutual TLS, that the caller's
// certificate role may make the call: the transport has already refused
// every certificate not signed by the cluster's CA or of no role the
// server accepts (see internal/pki). Frontends may call the game and
// cluster services; backends anything, node-only methods and forwarded
// requests included (only a backend may say it forwards).
type authorizer struct {
	log *slog.Logger
}

// check returns nil when the caller of ctx may call method.
func (a authorizer) check(ctx context.Context, method string) error {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return status.Error(codes.Unauthenticated, "no peer")
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		a.log.Warn("rpc: refused call without TLS", "method", method, "remote", p.Addr)
		return status.Error(codes.Unauthenticated, "a certificate of the cluster is required")
	}
	role, err := pki.PeerRole(info.State)
	if err != nil {
		a.log.Warn("rpc: refused call", "method", method, "remote", p.Addr, "reason", err)
		return status.Error(codes.Unauthenticated, err.Error())
	}
	if role == pki.RoleBackend {
		return nil
	}
	if nodeOnly[method] {
		a.log.Warn("rpc: refused call", "method", method, "remote", p.Addr, "role", role,
			"reason", "node-only method")
		return status.Errorf(codes.PermissionDenied, "%s is for backends only, not role %s", method, role)
	}
	if proxy.Forwarded(ctx) {
		a.log.Warn("rpc: refused call", "method", method, "remote", p.Addr, "role", role,
			"reason", "forwarded mark from a non-backend")
		return status.Errorf(codes.PermissionDenied, "only backends forward requests, not role %s", role)
	}
	return nil
}

func (a authorizer) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := a.check(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (a authorizer) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := a.check(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return handler(srv, ss)
}
