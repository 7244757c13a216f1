package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"
)

// Material is a loaded CA pool plus this process's own certificate: what
// a node needs to listen and dial with mutual TLS.
type Material struct {
	pool *x509.CertPool
	cert tls.Certificate
	leaf *x509.Certificate
	role Role
}

// Load reads the CA file and the certificate and key pair, and checks that
// the certificate is signed by that CA, is valid now and carries a role.
// Its errors name the file and the reason.
func Load(caFile, certFile, keyFile string) (*Material, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read CA: %w", err)
	}
	cas, err := parseCerts(caPEM)
	if err != nil {
		return nil, fmt.Errorf("CA file %s: %w", caFile, err)
	}
	pool := x509.NewCertPool()
	for _, c := range cas {
		pool.AddCert(c)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load %s with key %s: %w", certFile, keyFile, err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("%s: %w", certFile, err)
		}
		cert.Leaf = leaf
	}
	now := time.Now()
	if now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("%s: certificate %q expired on %s; issue a new one with gallows tls cert",
			certFile, leaf.Subject.CommonName, leaf.NotAfter.Format(time.RFC3339))
	}
	if now.Before(leaf.NotBefore) {
		return nil, fmt.Errorf("%s: certificate %q is not valid until %s; check this machine's clock",
			certFile, leaf.Subject.CommonName, leaf.NotBefore.Format(time.RFC3339))
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:         pool,
		Intermediates: intermediates(cert.Certificate[1:]),
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		return nil, fmt.Errorf("%s: certificate %q does not verify against the CA in %s: %s", certFile, leaf.Subject.CommonName, caFile, reason(err))
	}
	role, err := RoleOf(leaf)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certFile, err)
	}
	return &Material{pool: pool, cert: cert, leaf: leaf, role: role}, nil
}

// Role is the role this process's certificate carries.
func (m *Material) Role() Role { return m.role }

// Name is the CN of this process's certificate.
func (m *Material) Name() string { return m.leaf.Subject.CommonName }

// ServerConfig returns a tls.Config (TLS 1.3 minimum) for a listener. It
// presents m's certificate, requires a client certificate signed by the
// CA, and accepts only clients whose role is in allowed (none given: no
// client is accepted). A refused peer gets a handshake error and, when
// logger is not nil, a Warn line "tls: refused peer" with remote, reason
// (for example "certificate has expired", "certificate signed by an unknown
// authority", "role frontend not allowed here (want backend)") and, when
// the peer sent a certificate, its cn.
//
// To know each peer's address the config answers every ClientHello with a
// per-connection copy of itself (GetConfigForClient). So set fields such as
// NextProtos on the returned config itself, not on a clone of it: gRPC's
// credentials.NewTLS handles this, and http.Server then serves HTTP/1.1.
func (m *Material) ServerConfig(logger *slog.Logger, allowed ...Role) *tls.Config {
	allowed = slices.Clone(allowed)
	base := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{m.cert},
		// The chain is verified in VerifyConnection rather than by the
		// stdlib, so that every refusal (no certificate, wrong CA,
		// expired, wrong role) passes through one function that logs why.
		// RequestClientCert, not RequireAnyClientCert, so that a client
		// without a certificate reaches it too; it is refused there.
		ClientAuth: tls.RequestClientCert,
		// Every connection is verified in full; resumption would skip
		// asking for the client's certificate.
		SessionTicketsDisabled: true,
	}
	base.VerifyConnection = m.serverCheck(logger, "", allowed)
	base.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		c := base.Clone()
		c.GetConfigForClient = nil
		remote := ""
		if hello.Conn != nil {
			remote = hello.Conn.RemoteAddr().String()
		}
		c.VerifyConnection = m.serverCheck(logger, remote, allowed)
		return c, nil
	}
	return base
}

// serverCheck is a server's VerifyConnection for connections from remote.
func (m *Material) serverCheck(logger *slog.Logger, remote string, allowed []Role) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		cn, err := m.verifyPeer(cs, x509.ExtKeyUsageClientAuth, allowed)
		if err == nil {
			return nil
		}
		if logger != nil {
			attrs := []any{"remote", remote, "reason", err.Reason}
			if cn != "" {
				attrs = append(attrs, "cn", cn)
			}
			logger.Warn("tls: refused peer", attrs...)
		}
		return err
	}
}

// ClientConfig returns a tls.Config (TLS 1.3 minimum) for dialing a server
// of one of the allowed roles: it presents m's certificate and accepts a
// server whose chain leads to the CA and whose role is allowed.
//
// It does not check that the dialed host name is among the server's SANs:
// nodes are dialed by IP, container name or loopback alike, and a node's
// identity is the CA plus its role, as with Consul's verify_outgoing
// without verify_server_hostname.
func (m *Material) ClientConfig(allowed ...Role) *tls.Config {
	allowed = slices.Clone(allowed)
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{m.cert},
		// InsecureSkipVerify only turns off the stdlib's verification,
		// whose one difference from ours is the host name check; the
		// VerifyConnection below runs on every handshake (resumed ones
		// included) and verifies the full chain against the CA, the
		// validity period, the server-auth key usage and the role, and
		// the handshake fails if it does. Nothing is accepted unverified.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if _, err := m.verifyPeer(cs, x509.ExtKeyUsageServerAuth, allowed); err != nil {
				return err // not a nil *RefusedError in an error
			}
			return nil
		},
	}
}

// PeerRole returns the role of the peer's certificate (the first peer
// certificate) from a connection state, or an error if there is none. With
// the configs above the peer's chain and role have been verified by the
// time the handshake completes.
func PeerRole(cs tls.ConnectionState) (Role, error) {
	if len(cs.PeerCertificates) == 0 {
		return "", errors.New("peer presented no certificate")
	}
	return RoleOf(cs.PeerCertificates[0])
}

// RefusedError is the handshake error for a peer the checks refused.
type RefusedError struct {
	// CN is the peer certificate's common name, "" if it sent none.
	CN string
	// Reason says why, for a person: "certificate has expired (on ...)".
	Reason string
	// Err is the underlying error, if any (an x509 error, say).
	Err error
}

// Error says whom the checks refused and why.
func (e *RefusedError) Error() string {
	if e.CN == "" {
		return "tls: refused peer: " + e.Reason
	}
	return fmt.Sprintf("tls: refused peer %q: %s", e.CN, e.Reason)
}

// Unwrap returns the underlying error, so errors.As finds an x509 error.
func (e *RefusedError) Unwrap() error { return e.Err }

// verifyPeer checks the peer's chain against the CA for usage and its role
// against allowed. It returns the peer's CN when it sent a certificate.
func (m *Material) verifyPeer(cs tls.ConnectionState, usage x509.ExtKeyUsage, allowed []Role) (string, *RefusedError) {
	if len(cs.PeerCertificates) == 0 {
		return "", refused("", "no certificate presented", nil)
	}
	leaf := cs.PeerCertificates[0]
	cn := leaf.Subject.CommonName
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         m.pool,
		Intermediates: intermediatesOf(cs.PeerCertificates[1:]),
		CurrentTime:   time.Now(),
		KeyUsages:     []x509.ExtKeyUsage{usage},
	})
	if err != nil {
		return cn, refused(cn, reason(err), err)
	}
	role, err := RoleOf(leaf)
	if err != nil {
		return cn, refused(cn, err.Error(), err)
	}
	if len(allowed) == 0 {
		return cn, refused(cn, fmt.Sprintf("role %s not allowed here (this side was configured to allow no role)", role), nil)
	}
	if !slices.Contains(allowed, role) {
		return cn, refused(cn, fmt.Sprintf("role %s not allowed here (want %s)", role, joinRoles(allowed)), nil)
	}
	return cn, nil
}

func refused(cn, reason string, err error) *RefusedError {
	return &RefusedError{CN: cn, Reason: reason, Err: err}
}

// reason words an x509 verification error for a person.
func reason(err error) string {
	var invalid x509.CertificateInvalidError
	if errors.As(err, &invalid) {
		switch invalid.Reason {
		case x509.Expired:
			if c := invalid.Cert; c != nil && time.Now().Before(c.NotBefore) {
				return fmt.Sprintf("certificate is not yet valid (from %s; check the clocks)", c.NotBefore.UTC().Format(time.RFC3339))
			} else if c != nil {
				return fmt.Sprintf("certificate has expired (on %s)", c.NotAfter.UTC().Format(time.RFC3339))
			}
			return "certificate has expired or is not yet valid"
		case x509.IncompatibleUsage:
			return "certificate not issued for this use (key usage)"
		}
	}
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) {
		return "certificate signed by an unknown authority (not this cluster's CA)"
	}
	return err.Error()
}

func intermediates(ders [][]byte) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, der := range ders {
		if c, err := x509.ParseCertificate(der); err == nil {
			pool.AddCert(c)
		}
	}
	return pool
}

func intermediatesOf(certs []*x509.Certificate) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool
}
