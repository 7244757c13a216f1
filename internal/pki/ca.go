package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// File names written by the commands.
const (
	// CAFile holds the CA certificate, which every node trusts.
	CAFile = "ca.pem"
	// CAKeyFile holds the CA's private key; only the machine that issues
	// certificates needs it.
	CAKeyFile = "ca-key.pem"
)

// Validity periods.
const (
	// CAValidity is how long a new CA is valid: 10 years.
	CAValidity = 10 * 365 * 24 * time.Hour
	// DefaultCertValidity is how long a certificate is valid when a
	// CertRequest leaves Validity 0: 1 year.
	DefaultCertValidity = 365 * 24 * time.Hour
	// clockSkew is how far back a certificate's NotBefore goes by default,
	// so a node whose clock is a little behind accepts it at once.
	clockSkew = time.Minute
)

// CreateCA writes a new CA into dir as ca.pem and ca-key.pem: self-signed,
// valid 10 years, CN "Gallows CA", allowed to sign certificates but not
// other CAs. The key file gets mode 0600 and dir, if missing, 0700. It
// refuses to overwrite an existing CA: replacing ca-key.pem would orphan
// every certificate it signed.
func CreateCA(dir string) error {
	return createCA(dir, false)
}

// createCA is CreateCA; with overwrite it replaces an existing CA.
func createCA(dir string, overwrite bool) error {
	if dir == "" {
		return errors.New("create CA: no directory given")
	}
	keyPath, certPath := filepath.Join(dir, CAKeyFile), filepath.Join(dir, CAFile)
	if !overwrite {
		for _, p := range []string{keyPath, certPath} {
			if _, err := os.Lstat(p); err == nil {
				return fmt.Errorf("create CA: %s already exists; refusing to overwrite it (every certificate it signed would stop working): move it away or choose another directory", p)
			}
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create CA: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("create CA: generate key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return fmt.Errorf("create CA: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Gallows CA", Organization: []string{Organization}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(CAValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return fmt.Errorf("create CA: sign: %w", err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return fmt.Errorf("create CA: %w", err)
	}
	// The key first: if two runs race, the second fails here and writes
	// nothing.
	if err := writeFile(keyPath, keyPEM, 0o600, overwrite); err != nil {
		return fmt.Errorf("create CA: %w", err)
	}
	if err := writeFile(certPath, encodeCert(der), 0o644, overwrite); err != nil {
		os.Remove(keyPath)
		return fmt.Errorf("create CA: %w", err)
	}
	return nil
}

// CertRequest describes a certificate to issue.
type CertRequest struct {
	// Role is carried as the Subject's OrganizationalUnit.
	Role Role
	// Name is the CN and the base of the file names, NAME.pem and
	// NAME-key.pem: 1 to 64 of a-z, A-Z, 0-9, '.', '_' and '-'.
	Name string
	// Hosts are DNS names and IP addresses for the SANs; IPs go into
	// IPAddresses. Peers do not check them (identity is the CA and the
	// role), but tools like curl and openssl do.
	Hosts []string
	// Validity is how long the certificate is valid from NotBefore; 0
	// means 1 year (365 days).
	Validity time.Duration
	// NotBefore is when the certificate becomes valid; zero means now
	// minus 1 minute, for clock skew. Tests set it to make expired
	// certificates.
	NotBefore time.Time
}

var validName = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,64}$`)

// IssueCert signs a certificate with the CA in caDir and writes NAME.pem
// and NAME-key.pem into outDir (the key with mode 0600; outDir, if missing,
// is created 0700). The certificate is for both server and client
// authentication, since nodes dial each other. It refuses to overwrite an
// existing NAME.pem or NAME-key.pem. It returns the paths written.
func IssueCert(caDir, outDir string, req CertRequest) (certPath, keyPath string, err error) {
	ca, err := loadCA(caDir)
	if err != nil {
		return "", "", fmt.Errorf("issue certificate: %w", err)
	}
	return ca.issue(outDir, req, false)
}

// authority is a loaded CA: its certificate and signing key.
type authority struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// loadCA reads ca.pem and ca-key.pem from dir and checks that they belong
// together and that the CA can still sign.
func loadCA(dir string) (*authority, error) {
	certPath, keyPath := filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile)
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("read CA certificate (create a CA with gallows tls ca): %w", err)
	}
	certs, err := parseCerts(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certPath, err)
	}
	cert := certs[0]
	if !cert.IsCA {
		return nil, fmt.Errorf("%s: certificate %q is not a CA", certPath, cert.Subject.CommonName)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("read CA key (issuing needs the directory with both %s and %s): %w", CAFile, CAKeyFile, err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("%s does not belong to the CA certificate in %s", keyPath, certPath)
	}
	if now := time.Now(); now.After(cert.NotAfter) {
		return nil, fmt.Errorf("%s: the CA expired on %s; create a new one and reissue every certificate", certPath, cert.NotAfter.Format(time.DateOnly))
	}
	return &authority{cert: cert, key: key}, nil
}

// issue is IssueCert with a loaded CA; with overwrite it replaces existing
// files.
func (ca *authority) issue(outDir string, req CertRequest, overwrite bool) (certPath, keyPath string, err error) {
	tmpl, err := ca.template(req)
	if err != nil {
		return "", "", fmt.Errorf("issue certificate: %w", err)
	}
	if outDir == "" {
		return "", "", errors.New("issue certificate: no output directory given")
	}
	certPath, keyPath = filepath.Join(outDir, req.Name+".pem"), filepath.Join(outDir, req.Name+"-key.pem")
	if !overwrite {
		for _, p := range []string{keyPath, certPath} {
			if _, err := os.Lstat(p); err == nil {
				return "", "", fmt.Errorf("issue certificate: %s already exists; refusing to overwrite it: remove it first or choose another name", p)
			}
		}
	}
	if err := os.MkdirAll(outDir, 0o700); err != nil {
		return "", "", fmt.Errorf("issue certificate: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("issue certificate: generate key: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return "", "", fmt.Errorf("issue certificate %q: sign: %w", req.Name, err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return "", "", fmt.Errorf("issue certificate: %w", err)
	}
	if err := writeFile(keyPath, keyPEM, 0o600, overwrite); err != nil {
		return "", "", fmt.Errorf("issue certificate: %w", err)
	}
	if err := writeFile(certPath, encodeCert(der), 0o644, overwrite); err != nil {
		os.Remove(keyPath)
		return "", "", fmt.Errorf("issue certificate: %w", err)
	}
	return certPath, keyPath, nil
}

// template validates req and turns it into a certificate template.
func (ca *authority) template(req CertRequest) (*x509.Certificate, error) {
	if _, err := ParseRole(string(req.Role)); err != nil {
		return nil, err
	}
	if !validName.MatchString(req.Name) {
		return nil, fmt.Errorf("name %q: want 1 to 64 letters, digits, '.', '_' or '-'", req.Name)
	}
	if req.Name == "ca" {
		return nil, fmt.Errorf("name %q is taken by the CA's own files; choose another", req.Name)
	}
	var dnsNames []string
	var ips []net.IP
	seen := map[string]bool{}
	for _, h := range req.Hosts {
		h = strings.TrimSpace(h)
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(strings.Trim(h, "[]")); ip != nil {
			ips = append(ips, ip)
			continue
		}
		if strings.ContainsAny(h, ":/ ") {
			return nil, fmt.Errorf("host %q: want a DNS name or an IP address, without a port", h)
		}
		dnsNames = append(dnsNames, h)
	}
	validity := req.Validity
	if validity == 0 {
		validity = DefaultCertValidity
	}
	if validity < 0 {
		return nil, fmt.Errorf("validity %s: must be positive", validity)
	}
	notBefore := req.NotBefore
	if notBefore.IsZero() {
		notBefore = time.Now().Add(-clockSkew)
	}
	notAfter := notBefore.Add(validity)
	if notAfter.After(ca.cert.NotAfter) {
		return nil, fmt.Errorf("a certificate valid until %s would outlive the CA, which expires on %s: ask for a shorter validity",
			notAfter.Format(time.DateOnly), ca.cert.NotAfter.Format(time.DateOnly))
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         req.Name,
			Organization:       []string{Organization},
			OrganizationalUnit: []string{string(req.Role)},
		},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		DNSNames:              dnsNames,
		IPAddresses:           ips,
	}, nil
}

// newSerial returns a random 128-bit serial number.
func newSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return serial, nil
}

func encodeCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// parseCerts returns every CERTIFICATE block in data, at least one.
func parseCerts(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate in the file")
	}
	return certs, nil
}

// parseKey reads a PEM private key, PKCS #8 or SEC 1.
func parseKey(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no PEM private key in the file")
		}
		var key any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("parse private key: %w", err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("private key of type %T cannot sign", key)
		}
		return signer, nil
	}
}

// writeFile writes data to path with mode perm. Without overwrite it fails
// if path exists; with it, it replaces path atomically, so a reader never
// sees half a file and a replaced key file never keeps a looser mode.
func writeFile(path string, data []byte, perm fs.FileMode, overwrite bool) error {
	if !overwrite {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s already exists; refusing to overwrite it", path)
			}
			return err
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
