package membership

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/raft"
)

// pass is one run of the reconcile loop: it keeps this node's Bootstrapped
// tag current, bootstraps a fresh cluster when bootstrap-expect is met and,
// on the leader, reconciles serf membership into the Raft configuration.
func (m *Membership) pass() {
	members := m.Members()
	m.markBootstrapped()
	m.maybeBootstrap(members)
	m.reconcileRaft(members)
	m.passes.Add(1)
}

// markBootstrapped sets this node's Bootstrapped tag once it is part of a
// cluster: Raft knows a leader, or has received a configuration. (A node
// with Raft state at start has the tag from New.)
func (m *Membership) markBootstrapped() {
	if m.localTags().Bootstrapped {
		return
	}
	if _, id := m.cfg.Raft.LeaderWithID(); id != "" {
		m.setBootstrapped("raft knows a leader", "leader", id)
		return
	}
	future := m.cfg.Raft.GetConfiguration()
	if err := future.Error(); err != nil {
		m.logger.Warn("cannot read raft configuration", "err", err)
		return
	}
	if servers := future.Configuration().Servers; len(servers) > 0 {
		m.setBootstrapped("raft has a configuration", "servers", len(servers))
	}
}

// setBootstrapped gossips Bootstrapped=true.
func (m *Membership) setBootstrapped(reason string, args ...any) {
	t := m.localTags()
	t.Bootstrapped = true
	// SetTags fails before changing anything only when the encoded tags are
	// too long, which cannot happen here: "true" is shorter than the
	// "false" that serf accepted. Its other error is a timeout waiting for
	// the broadcast, which gossip keeps carrying after it, so the tag is
	// set either way.
	if err := m.serf.SetTags(t.Map()); err != nil {
		m.logger.Warn("bootstrapped tag set, but its broadcast is slow", "err", err)
	}
	m.tagsMu.Lock()
	m.tags = t
	m.tagsMu.Unlock()
	m.logger.Info("marked as bootstrapped: "+reason, args...)
}

// maybeBootstrap bootstraps Raft when this node has no state, has a
// bootstrap-expect N, no backend is bootstrapped yet, at least N alive
// backends that expect to bootstrap all advertise the same N, and those
// backends have not changed for bootstrapSettle. The configuration holds
// the first N of them by ID, all voters, so every node computes the same
// one; a node outside those N, or one that only joins (bootstrap-expect
// 0), waits to be added by the leader.
func (m *Membership) maybeBootstrap(members []Member) {
	expect := m.cfg.BootstrapExpect
	if m.cfg.HasState || expect == 0 || m.localTags().Bootstrapped {
		return
	}
	var alive []Member
	for _, mem := range members {
		if mem.Bootstrapped {
			m.bootstrapView = ""
			m.bootstrapNote(slog.LevelInfo, "not bootstrapping: a cluster exists, waiting to be added by its leader",
				"bootstrapped_member", mem.ID)
			return
		}
		if mem.Status == statusAlive && mem.Expect != 0 {
			alive = append(alive, mem)
		}
	}
	settled := m.trackBootstrapView(alive)
	for _, mem := range alive {
		if mem.Expect != expect {
			m.bootstrapNote(slog.LevelWarn, "not bootstrapping: backends disagree on bootstrap-expect",
				"expect", expect, "member", mem.ID, "member_expect", mem.Expect)
			return
		}
	}
	if len(alive) < expect {
		m.bootstrapNote(slog.LevelInfo, "waiting for backends to bootstrap", "alive", len(alive), "expect", expect)
		return
	}
	chosen := alive[:expect]
	if !slices.ContainsFunc(chosen, func(mem Member) bool { return mem.ID == m.cfg.Tags.ID }) {
		m.bootstrapNote(slog.LevelInfo, "not bootstrapping: not among the first bootstrap-expect backends by ID, waiting to be added",
			"expect", expect, "alive", len(alive))
		return
	}
	if !settled {
		m.bootstrapNote(slog.LevelInfo, "bootstrap-expect met, bootstrapping unless membership changes",
			"alive", len(alive), "settle", bootstrapSettle)
		return
	}
	servers := make([]raft.Server, 0, expect)
	ids := make([]string, 0, expect)
	for _, mem := range chosen {
		servers = append(servers, raft.Server{
			Suffrage: raft.Voter,
			ID:       raft.ServerID(mem.ID),
			Address:  raft.ServerAddress(mem.RaftAddr),
		})
		ids = append(ids, mem.ID)
	}
	err := m.cfg.Raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error()
	switch {
	case err == nil:
		m.setBootstrapped("bootstrapped the raft cluster", "servers", ids)
	case errors.Is(err, raft.ErrCantBootstrap):
		m.setBootstrapped("raft already has state", "err", err)
	default:
		m.logger.Warn("raft bootstrap failed, retrying", "servers", ids, "err", err)
	}
}

// trackBootstrapView reports whether the alive backends (with their Raft
// addresses and bootstrap-expect) have been the same for bootstrapSettle.
// When they change, the wait starts over and a pass is requested for its
// end.
func (m *Membership) trackBootstrapView(alive []Member) bool {
	parts := make([]string, len(alive))
	for i, mem := range alive {
		parts[i] = fmt.Sprintf("%s@%s/%d", mem.ID, mem.RaftAddr, mem.Expect)
	}
	view := strings.Join(parts, ",")
	now := time.Now()
	if view != m.bootstrapView {
		m.bootstrapView, m.bootstrapViewSince = view, now
		if m.settleTimer != nil {
			m.settleTimer.Stop()
		}
		m.settleTimer = time.AfterFunc(bootstrapSettle, m.Reconcile)
		return false
	}
	return now.Sub(m.bootstrapViewSince) >= bootstrapSettle
}

// bootstrapNote logs why this node does not bootstrap, once per distinct
// reason, instead of on every pass.
func (m *Membership) bootstrapNote(level slog.Level, msg string, args ...any) {
	key := fmt.Sprint(msg, args)
	if key == m.lastBootstrapNote {
		return
	}
	m.lastBootstrapNote = key
	m.logger.Log(context.Background(), level, msg, args...)
}

// reconcileRaft makes the Raft configuration follow serf, on the leader only:
// alive backends become voters at their advertised Raft address;
// backends that left are removed; failed or vanished ones are removed after
// FailedGrace. Removals never take the voters below the highest
// bootstrap-expect of any member, and never remove this node. Failed
// operations are logged and retried by the next pass.
func (m *Membership) reconcileRaft(members []Member) {
	if m.cfg.Raft.State() != raft.Leader {
		if m.wasLeader {
			m.logger.Info("no longer raft leader, reconcile paused")
		}
		m.wasLeader = false
		clear(m.down)
		return
	}
	if !m.wasLeader {
		if err := m.cfg.Raft.Barrier(raftTimeout).Error(); err != nil {
			m.logger.Warn("raft barrier failed, reconcile retried next pass", "err", err)
			return
		}
		m.wasLeader = true
		m.logger.Info("raft leader, reconciling serf membership into raft")
	}
	future := m.cfg.Raft.GetConfiguration()
	if err := future.Error(); err != nil {
		m.logger.Warn("cannot read raft configuration, reconcile retried next pass", "err", err)
		return
	}
	servers := future.Configuration().Servers
	inConfig := make(map[string]raft.Server, len(servers))
	voters := 0
	for _, srv := range servers {
		inConfig[string(srv.ID)] = srv
		if srv.Suffrage == raft.Voter {
			voters++
		}
	}

	// The floor is the cluster's bootstrap-expect, whatever this node was
	// started with: a leader started only to join has 0.
	floor := m.cfg.BootstrapExpect
	for _, mem := range members {
		floor = max(floor, mem.Expect)
	}
	now := time.Now()
	inSerf := make(map[string]bool, len(members))
	for _, mem := range members {
		inSerf[mem.ID] = true
		srv, ok := inConfig[mem.ID]
		switch mem.Status {
		case statusAlive:
			delete(m.down, mem.ID)
			m.ensureVoter(mem, srv, ok)
		case statusLeft:
			if ok {
				voters = m.removeServer(srv, statusLeft, now, 0, voters, floor)
			}
		case statusFailed:
			if ok {
				voters = m.removeServer(srv, statusFailed, now, m.cfg.FailedGrace, voters, floor)
			}
		}
	}
	for _, srv := range servers {
		if !inSerf[string(srv.ID)] {
			voters = m.removeServer(srv, "absent from serf", now, m.cfg.FailedGrace, voters, floor)
		}
	}
	for id := range m.down {
		if _, ok := inConfig[id]; !ok {
			delete(m.down, id)
		}
	}
}

// ensureVoter makes an alive backend a voter at its advertised Raft address.
// srv is its current entry in the configuration, if ok. AddVoter also
// updates the address of an existing voter in place (and the leader's
// replication follows it), so an address change never takes a voter away.
func (m *Membership) ensureVoter(mem Member, srv raft.Server, ok bool) {
	addr := raft.ServerAddress(mem.RaftAddr)
	if ok && srv.Address == addr && srv.Suffrage == raft.Voter {
		return
	}
	if ok && srv.Address != addr && mem.ID == m.cfg.Tags.ID {
		m.logger.Warn("this node's raft address differs from the raft configuration, not changing it",
			"tag_addr", addr, "config_addr", srv.Address)
		return
	}
	if err := m.cfg.Raft.AddVoter(raft.ServerID(mem.ID), addr, 0, raftTimeout).Error(); err != nil {
		m.logger.Warn("cannot add voter, retrying", "server", mem.ID, "addr", addr, "err", err)
		return
	}
	if ok {
		m.logger.Info("updated voter", "server", mem.ID, "addr", addr, "old_addr", srv.Address,
			"old_suffrage", srv.Suffrage)
		return
	}
	m.logger.Info("added voter", "server", mem.ID, "addr", addr)
}

// removeServer removes srv, which serf reports down for the given reason,
// once it has been down for grace, unless it is this node or a voter whose
// removal would leave fewer than floor voters. It returns the number of
// voters left.
func (m *Membership) removeServer(srv raft.Server, reason string, now time.Time, grace time.Duration, voters, floor int) int {
	id := string(srv.ID)
	if id == m.cfg.Tags.ID {
		return voters
	}
	d, ok := m.down[id]
	if !ok {
		d = &downServer{since: now}
		m.down[id] = d
		if grace > 0 {
			m.logger.Info("server is down, it is removed from raft if it stays down", "server", id,
				"reason", reason, "grace", grace)
		}
	}
	if now.Sub(d.since) < grace {
		return voters
	}
	isVoter := srv.Suffrage == raft.Voter
	if isVoter && voters-1 < floor {
		if !d.kept {
			d.kept = true
			m.logger.Info("keeping down server: removing it would leave fewer voters than bootstrap-expect",
				"server", id, "reason", reason, "voters", voters, "expect", floor)
		}
		return voters
	}
	if err := m.cfg.Raft.RemoveServer(srv.ID, 0, raftTimeout).Error(); err != nil {
		m.logger.Warn("cannot remove server, retrying", "server", id, "reason", reason, "err", err)
		return voters
	}
	m.logger.Info("removed server from raft", "server", id, "reason", reason)
	delete(m.down, id)
	if isVoter {
		voters--
	}
	return voters
}
