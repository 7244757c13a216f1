package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"time"

	"google.golang.org/grpc"

	pb "github.com/gallows-game/gallows/proto/gallows/v1"
)

// keyringTimeout bounds one keyring operation: serf asks every member.
const keyringTimeout = 30 * time.Second

// runKeyring lists, installs, uses or removes a gossip key on every
// backend, through one of them (Cluster/Keyring, backends only).
func runKeyring(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keyring", flag.ContinueOnError)
	backends := listFlag{}
	fs.Var(&backends, "backends", "backend gRPC host:port addresses; the first that answers runs the operation (default "+defaultStatusBackends+")")
	list := fs.Bool("list", false, "list the keys every member holds, and the primary")
	install := fs.String("install", "", "install this base64 key on every member (it decrypts; it does not encrypt yet)")
	use := fs.String("use", "", "make this installed key the primary on every member (it encrypts)")
	remove := fs.String("remove", "", "remove this key from every member (not the primary)")
	var sec tlsFlags
	sec.register(fs, false, true)
	if err := parse(fs, args, stderr, "gallows keyring: rotate the gossip key without downtime: --install NEW, --use NEW, --remove OLD. Needs a backend certificate."); err != nil {
		return err
	}
	var ops []*pb.KeyringRequest
	if *list {
		ops = append(ops, &pb.KeyringRequest{Op: pb.KeyringRequest_OP_LIST})
	}
	for _, o := range []struct {
		key string
		op  pb.KeyringRequest_Op
	}{{*install, pb.KeyringRequest_OP_INSTALL}, {*use, pb.KeyringRequest_OP_USE}, {*remove, pb.KeyringRequest_OP_REMOVE}} {
		if o.key != "" {
			ops = append(ops, &pb.KeyringRequest{Op: o.op, Key: o.key})
		}
	}
	if len(ops) != 1 {
		return errors.New("keyring: give exactly one of --list, --install, --use or --remove")
	}
	if len(backends) == 0 {
		_ = backends.Set(defaultStatusBackends)
	}
	creds, err := sec.dialOption()
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	var errs []error
	for _, addr := range backends {
		cc, err := grpc.NewClient(addr, creds)
		if err != nil {
			return fmt.Errorf("keyring: backend %q: %w", addr, err)
		}
		cctx, cancel := context.WithTimeout(ctx, keyringTimeout)
		reply, err := pb.NewClusterClient(cc).Keyring(cctx, ops[0])
		cancel()
		_ = cc.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", addr, err))
			continue
		}
		return printKeyring(stdout, ops[0].GetOp(), reply)
	}
	return fmt.Errorf("keyring: %w", errors.Join(errs...))
}

func printKeyring(w io.Writer, op pb.KeyringRequest_Op, r *pb.KeyringReply) error {
	if op != pb.KeyringRequest_OP_LIST {
		_, err := fmt.Fprintf(w, "keyring: %s done on %d of %d members\n", op, r.GetResponses(), r.GetMembers())
		return err
	}
	keys := make([]string, 0, len(r.GetKeys()))
	for k := range r.GetKeys() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fmt.Fprintf(w, "%d members answered of %d\n", r.GetResponses(), r.GetMembers())
	for _, k := range keys {
		primary := ""
		if n := r.GetPrimaryKeys()[k]; n > 0 {
			primary = fmt.Sprintf(" (primary on %d)", n)
		}
		if _, err := fmt.Fprintf(w, "  %s  on %d members%s\n", k, r.GetKeys()[k], primary); err != nil {
			return err
		}
	}
	return nil
}
