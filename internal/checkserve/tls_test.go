package checkserve

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writePair writes a fresh self-signed certificate and its key as PEM
// files with modification time mod, and returns the certificate's pin.
func writePair(t *testing.T, certFile, keyFile string, mod time.Time) string {
	t.Helper()
	c, err := SelfSigned([]string{"check.example", "192.0.2.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	for _, f := range []string{certFile, keyFile} {
		if err := os.Chtimes(f, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	pin, err := PublicKeyPin(c)
	if err != nil {
		t.Fatal(err)
	}
	return pin
}

// TestCertFiles: the self-signed certificate names the hosts given; the
// files are read at start and again when they change; a renewal that does
// not load leaves the previous certificate in use.
func TestCertFiles(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := writePair(t, cert, key, time.Unix(1e9, 0))
	cf, err := LoadCertFiles(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf := cf.Certificate().Leaf
	if err := leaf.VerifyHostname("192.0.2.1"); err != nil {
		t.Error(err)
	}
	if err := leaf.VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
	pinOf := func() string {
		t.Helper()
		c, err := cf.GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := PublicKeyPin(*c)
		return p
	}
	if got := pinOf(); got != first || !strings.HasPrefix(got, "sha256//") {
		t.Fatalf("pin %q, want %q", got, first)
	}
	second := writePair(t, cert, key, time.Unix(2e9, 0))
	if got := pinOf(); got != second || second == first {
		t.Fatalf("after renewal: pin %q, want the new %q", got, second)
	}
	os.WriteFile(key, []byte("half written"), 0o600)
	if got := pinOf(); got != second {
		t.Fatalf("a renewal that does not load: pin %q, want the previous %q", got, second)
	}
	if _, err := LoadCertFiles(cert, filepath.Join(dir, "none.pem")); err == nil || !strings.Contains(err.Error(), "none.pem") {
		t.Errorf("missing key file: %v", err)
	}
}
