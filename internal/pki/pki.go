// Package pki makes and loads the certificates, with roles, that the
// cluster's mutual TLS runs on, and the gossip keys that encrypt serf.
//
// A node's role (backend or frontend) travels in its certificate as the
// Subject's one OrganizationalUnit, so a listener can accept only the roles it
// serves: Raft and serf only backends, the game API backends and frontends.
// Identity is the CA plus the role, never the host name a node was dialed
// by. Only the standard library's crypto is used (ECDSA P-256, x509).
package pki

import (
	"crypto/x509"
	"fmt"
	"strings"
)

// Role is what a certificate allows its holder to be in the cluster.
type Role string

// The roles a certificate can carry.
const (
	// RoleBackend is a backend node: a Raft voter, a serf member and a
	// server of the game API.
	RoleBackend Role = "backend"
	// RoleFrontend is a frontend: it calls the backends' game API and
	// serves browsers.
	RoleFrontend Role = "frontend"
)

// Organization is the Subject Organization of every certificate this
// package issues.
const Organization = "Gallows"

// Roles lists every role, in the order error messages name them.
func Roles() []Role { return []Role{RoleBackend, RoleFrontend} }

// ParseRole parses "backend" or "frontend"; anything else is an error
// naming the allowed roles.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleBackend, RoleFrontend:
		return r, nil
	}
	return "", fmt.Errorf("role %q: want %s", s, joinRoles(Roles()))
}

// RoleOf returns the role a certificate carries as its Subject's
// OrganizationalUnit, or an error if it carries none, several, or one that
// is not a role.
func RoleOf(cert *x509.Certificate) (Role, error) {
	if cert == nil {
		return "", fmt.Errorf("no certificate")
	}
	ous := cert.Subject.OrganizationalUnit
	switch len(ous) {
	case 0:
		return "", fmt.Errorf("certificate %q carries no role (no OrganizationalUnit; issue it with gallows tls cert --role)", cert.Subject.CommonName)
	case 1:
	default:
		return "", fmt.Errorf("certificate %q carries %d OrganizationalUnits %q, want exactly one role", cert.Subject.CommonName, len(ous), ous)
	}
	r, err := ParseRole(ous[0])
	if err != nil {
		return "", fmt.Errorf("certificate %q: %w", cert.Subject.CommonName, err)
	}
	return r, nil
}

// joinRoles names roles for a person: "backend", "backend or frontend".
func joinRoles(roles []Role) string {
	if len(roles) == 0 {
		return "no role"
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
