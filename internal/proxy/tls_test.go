package proxy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testCA is a certificate authority made for a test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // its certificate, PEM
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &testCA{cert: cert, key: key, file: filepath.Join(t.TempDir(), name+".pem")}
	writePEM(t, ca.file, "CERTIFICATE", der)
	return ca
}

// issue makes a certificate for name (a server's IP address, or a
// client's name) signed by the CA, and returns its files.
func (ca *testCA) issue(t *testing.T, name string, server bool) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP(name)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, keyFile, "EC PRIVATE KEY", kder)
	return certFile, keyFile
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestMutualTLS: the converter requires a client certificate its client
// CA signed. A front end with one relays byte for byte; one whose
// certificate another CA signed, or with none, gets a clear TLS error, the
// converter counts the refusal, and nothing reaches the destination.
func TestMutualTLS(t *testing.T) {
	ca, rogue := newTestCA(t, "proxies"), newTestCA(t, "rogue")
	srvCert, srvKey := ca.issue(t, "127.0.0.1", true)
	cliCert, cliKey := ca.issue(t, "router-1", false)
	badCert, badKey := rogue.issue(t, "router-2", false)

	scfg, err := ServerTLS(TLSFiles{Cert: srvCert, Key: srvKey, CA: ca.file})
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Policy: Policy{AllowLocal: true}, HandshakeTimeout: 5 * time.Second}
	conv := listen(t)
	go srv.Serve(tls.NewListener(conv, scfg))
	var originConns atomic.Int64
	o := countingOrigin(t, &originConns)

	front := func(cert, key string) *rig {
		f := TLSFiles{Cert: cert, Key: key, CA: ca.file}
		var d Dialer = &net.Dialer{}
		if cert != "" {
			ccfg, err := ClientTLS(f, conv.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			d = &TLSDialer{Dialer: d, Config: ccfg}
		} else {
			// No certificate at all, but TLS towards the converter.
			d = &TLSDialer{Dialer: d, Config: &tls.Config{RootCAs: mustPool(t, ca.file), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13}}
		}
		r := &rig{srv: srv, conv: conv, front: &Front{Client: &Client{Converter: conv.Addr().String(), Dialer: d}, Strict: true}}
		r.fl = listen(t)
		go r.front.ServeProxy(r.fl)
		return r
	}

	good := front(cliCert, cliKey)
	c, err := socks(t, good, nil).Dial("tcp", o.Addr().String())
	if err != nil {
		t.Fatalf("with the right certificate: %v", err)
	}
	big := strings.Repeat("tls ", 1<<18)
	if got := exchange(t, c, big); got != "hello "+big {
		t.Fatalf("got %d bytes back, want %d", len(got), len(big)+6)
	}
	c.Close()
	waitFor(t, func() bool { return srv.Stats.Relayed.Load() == 1 })

	for _, v := range []struct{ name, cert, key string }{{"another CA's certificate", badCert, badKey}, {"no certificate", "", ""}} {
		before := originConns.Load()
		r := front(v.cert, v.key)
		if c, err := socks(t, r, nil).Dial("tcp", o.Addr().String()); err == nil {
			c.Close()
			t.Fatalf("%s: the SOCKS connect succeeded", v.name)
		}
		if originConns.Load() != before {
			t.Fatalf("%s: the destination was reached", v.name)
		}
		// What the front end learns: the converter's TLS alert.
		up, err := r.front.Client.Connect(context.Background(), Target{Addr: netip.MustParseAddrPort(o.Addr().String())}, nil)
		if err == nil {
			_, err = up.Reply()
			up.Close()
		}
		if err == nil || !strings.Contains(err.Error(), "tls") {
			t.Errorf("%s: client error %v, want the TLS refusal", v.name, err)
		} else {
			t.Logf("%s: %v", v.name, err)
		}
	}
	waitFor(t, func() bool { return srv.Stats.NotAuthorized.Load() == 4 })
	if s := srv.Stats.Snapshot(); s.Relayed != 1 {
		t.Errorf("server stats %+v: want one relay, four refusals", s)
	}
}

func mustPool(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(b)
	return p
}
