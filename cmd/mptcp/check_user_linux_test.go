//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/internal/checkserve"
	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/observe"
)

// TestCheckServeUser runs "mptcp check serve --stack user --trace DIR"
// with HTTPS from certificate files in a namespace and asks it from a
// kernel client over MPTCP and over plain TCP, over HTTP and over HTTPS
// (checking the certificate), in Go and, where installed, with curl
// (under mptcpize for MPTCP): MPTCP hears yes, TCP no, and the server
// wrote a trace of each MPTCP connection.
func TestCheckServeUser(t *testing.T) {
	tp := perfTwoPaths(t)
	srvAddr := tp.Paths[0].ServerStack.V4
	dir := t.TempDir()
	certFile, keyFile, roots := writeTestCert(t, srvAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := startCheckUser(ctx, tp.Server, srvAddr, "ck0", "--trace", dir, "--tls-ports", "8443", "--tls-cert", certFile, "--tls-key", keyFile)
	url := netip.AddrPortFrom(srvAddr, 8080).String()
	ask := func(mptcp, https bool) string {
		t.Helper()
		port := uint16(8080)
		if https {
			port = 8443
		}
		for {
			c := dialCheckUser(ctx, tp.Client, srvAddr, port, mptcp)
			if c == nil {
				break
			}
			if https {
				c = tls.Client(c, &tls.Config{RootCAs: roots, ServerName: srvAddr.String()})
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "GET / HTTP/1.0\r\nHost: %s\r\nUser-Agent: curl/8.0\r\n\r\n", url)
			b, err := io.ReadAll(c)
			c.Close()
			if err == nil {
				return string(b)
			}
		}
		select {
		case s := <-done:
			t.Fatalf("no answer from check serve: %s", s)
		default:
		}
		t.Fatal("no answer from check serve within 30 s")
		return ""
	}
	yes := ask(true, false)
	no := ask(false, false)
	yesTLS := ask(true, true)
	noTLS := ask(false, true)
	// curl too, checking the certificate against the file, over the
	// kernel's MPTCP under mptcpize and over TCP.
	var curlYes, curlNo string
	if haveTools("curl", "mptcpize") {
		httpsURL := "https://" + netip.AddrPortFrom(srvAddr, 8443).String() + "/"
		curlYes, _ = tp.Client.Exec("mptcpize", "run", "curl", "-sS", "--max-time", "10", "--cacert", certFile, httpsURL)
		curlNo, _ = tp.Client.Exec("curl", "-sS", "--max-time", "10", "--cacert", certFile, httpsURL)
	}
	cancel()
	if s := <-done; !strings.HasPrefix(s, "exit 0") {
		t.Errorf("check serve: %s", s)
	}
	if !strings.Contains(yes, "Yes: your connection uses Multipath TCP (version 1).") || !strings.Contains(yes, ", user stack") {
		t.Errorf("MPTCP client was told:\n%s", yes)
	}
	if !strings.Contains(no, "No: your connection does not use Multipath TCP.") {
		t.Errorf("TCP client was told:\n%s", no)
	}
	if !strings.Contains(yesTLS, "Yes: your connection uses Multipath TCP (version 1).") || !strings.Contains(yesTLS, "(port 8443, HTTPS), user stack") {
		t.Errorf("MPTCP client over HTTPS was told:\n%s", yesTLS)
	}
	if !strings.Contains(noTLS, "No: your connection does not use Multipath TCP.") || !strings.Contains(noTLS, "(port 8443, HTTPS)") {
		t.Errorf("TCP client over HTTPS was told:\n%s", noTLS)
	}
	if curlYes != "" || curlNo != "" {
		if !strings.HasPrefix(curlYes, "Yes: your connection uses Multipath TCP (version 1).") || !strings.Contains(curlYes, "(port 8443, HTTPS), user stack") {
			t.Errorf("mptcpize curl over HTTPS was told:\n%s", curlYes)
		}
		if !strings.HasPrefix(curlNo, "No: your connection does not use Multipath TCP.") {
			t.Errorf("curl over HTTPS was told:\n%s", curlNo)
		}
	}
	t.Logf("MPTCP client:\n%s\nover HTTPS:\n%s\nmptcpize curl over HTTPS:\n%s", yes, yesTLS, curlYes)
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if len(files) < 2 { // more if a try was cut short
		t.Fatalf("%d trace files, want the two MPTCP connections': %v", len(files), files)
	}
	recs, err := observe.ReadTraceFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var created bool
	for _, r := range recs {
		created = created || r.Kind == observe.TraceKindEvent && bytes.Contains(r.Event, []byte(`"type":"created"`))
	}
	if recs[0].Side != "server" || !created {
		t.Errorf("trace %s: header %+v, CREATED event %v", files[0], recs[0], created)
	}
}

// startCheckUser runs "mptcp check serve --stack user" on a TUN device
// named dev with address addr in namespace ns, HTTP on port 8080 only,
// until ctx ends; the channel gets its exit status and output.
func startCheckUser(ctx context.Context, ns lab.Netns, addr netip.Addr, dev string, extra ...string) <-chan string {
	done := make(chan string, 1)
	go func() {
		var o, e bytes.Buffer
		code := -1
		args := append([]string{"check", "serve", "--stack", "user", "--tun", dev, "--addr", addr.String(),
			"--ports", "8080", "--echo", "0", "--discard", "0", "--rate", "0"}, extra...)
		_ = ns.Do(func() error {
			code = execute(ctx, root, args, &o, &e)
			return nil
		})
		done <- fmt.Sprintf("exit %d\n%s%s", code, o.String(), e.String())
	}()
	return done
}

// dialCheckUser connects from namespace ns to the check server that
// startCheckUser runs at addr on port, over MPTCP if mptcp, trying again while
// the server is still starting; it returns nil if ctx ended first.
func dialCheckUser(ctx context.Context, ns lab.Netns, addr netip.Addr, port uint16, mptcp bool) net.Conn {
	url := netip.AddrPortFrom(addr, port).String()
	for ctx.Err() == nil {
		var c net.Conn
		err := ns.Do(func() (err error) {
			d := net.Dialer{Timeout: 2 * time.Second}
			d.SetMultipathTCP(mptcp)
			c, err = d.DialContext(ctx, "tcp", url)
			return err
		})
		if err == nil {
			return c
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// writeTestCert writes a self-signed certificate for addr and its key as
// PEM files, as an operator's would be, and returns them with a pool
// that trusts the certificate.
func writeTestCert(t *testing.T, addr netip.Addr) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	c, err := checkserve.SelfSigned([]string{addr.String()}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(c.Leaf)
	return certFile, keyFile, roots
}
