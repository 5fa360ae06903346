package checkserve

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"sync"
	"time"
)

// SelfSigned makes a certificate for the site's HTTPS ports when the
// operator has none (tests, demos): an ECDSA P-256 key signed by itself,
// valid for a year from now, for the names and addresses in hosts
// (localhost and the loopback addresses are always in). Clients accept it
// with curl --insecure, or check its key with PublicKeyPin.
func SelfSigned(hosts []string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("self-signed certificate: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("self-signed certificate: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "mptcp check serve (self-signed)"},
		NotBefore:    now.Add(-time.Hour), // a client's clock a little behind
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("self-signed certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("self-signed certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// PublicKeyPin is the certificate's public key pin as curl's
// --pinnedpubkey takes it: "sha256//" and the base64 SHA-256 of its
// SubjectPublicKeyInfo.
func PublicKeyPin(c tls.Certificate) (string, error) {
	leaf := c.Leaf
	if leaf == nil {
		if len(c.Certificate) == 0 {
			return "", errors.New("no certificate")
		}
		var err error
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return "", err
		}
	}
	sum := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	return "sha256//" + base64.StdEncoding.EncodeToString(sum[:]), nil
}

// CertFiles serves the certificate in a PEM certificate (chain) file and
// its key file, read again when either file changes, so that a renewed
// certificate is taken up without a restart. Its GetCertificate is a
// tls.Config's.
type CertFiles struct {
	certFile, keyFile string

	mu       sync.Mutex
	cert     *tls.Certificate
	modified [2]time.Time
}

// LoadCertFiles reads the pair once, so that a bad file is reported at
// start.
func LoadCertFiles(certFile, keyFile string) (*CertFiles, error) {
	cf := &CertFiles{certFile: certFile, keyFile: keyFile}
	if _, err := cf.load(); err != nil {
		return nil, err
	}
	return cf, nil
}

// Certificate returns the pair as last loaded.
func (cf *CertFiles) Certificate() tls.Certificate {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	return *cf.cert
}

// GetCertificate implements tls.Config.GetCertificate: the pair, read
// again if a file's modification time changed. A pair that no longer
// loads (a renewal half written) leaves the previous one in use.
func (cf *CertFiles) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c, err := cf.load()
	if err != nil {
		cf.mu.Lock()
		defer cf.mu.Unlock()
		return cf.cert, nil
	}
	return c, nil
}

func (cf *CertFiles) load() (*tls.Certificate, error) {
	var mod [2]time.Time
	for i, name := range []string{cf.certFile, cf.keyFile} {
		st, err := os.Stat(name)
		if err != nil {
			return nil, fmt.Errorf("TLS certificate: %w", err)
		}
		mod[i] = st.ModTime()
	}
	cf.mu.Lock()
	defer cf.mu.Unlock()
	if cf.cert != nil && mod == cf.modified {
		return cf.cert, nil
	}
	c, err := tls.LoadX509KeyPair(cf.certFile, cf.keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s, key %s: %w", cf.certFile, cf.keyFile, err)
	}
	cf.cert, cf.modified = &c, mod
	return cf.cert, nil
}
