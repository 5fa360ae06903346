package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

// Mutual TLS between the proxies, the alternative (or addition)
// to the pre-shared key: the converter accepts only clients whose
// certificate its client CA signed, and the client only a converter whose
// certificate its CA signed. The Convert message then travels inside TLS
// 1.3, after the handshake: with TCP Fast Open the ClientHello rides the
// SYN, and the Convert message follows one round trip later, so TLS costs
// the round trip TFO saves.

// TLSFiles names the PEM files of one end's TLS: its certificate and key,
// and the CA that signs the other end's certificates.
type TLSFiles struct {
	Cert, Key, CA string
	// ServerName is what the client checks in the converter's
	// certificate (default: the host of the converter's address).
	ServerName string
}

// set reports whether any file is named; an end with TLS needs all three.
func (f TLSFiles) set() bool { return f.Cert != "" || f.Key != "" || f.CA != "" }

func (f TLSFiles) load() (tls.Certificate, *x509.CertPool, error) {
	if f.Cert == "" || f.Key == "" || f.CA == "" {
		return tls.Certificate{}, nil, errors.New("mutual TLS needs a certificate, its key and a CA (tls_cert, tls_key and the CA's file)")
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("TLS certificate: %w", err)
	}
	pem, err := os.ReadFile(f.CA)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("TLS CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return tls.Certificate{}, nil, fmt.Errorf("TLS CA %s: no PEM certificate in it", f.CA)
	}
	return cert, pool, nil
}

// ServerTLS returns the converter's TLS configuration: its certificate,
// and a client certificate signed by the CA required.
func ServerTLS(f TLSFiles) (*tls.Config, error) {
	cert, pool, err := f.load()
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS13}, nil
}

// ClientTLS returns the front end's TLS configuration towards converter
// (host:port).
func ClientTLS(f TLSFiles, converter string) (*tls.Config, error) {
	cert, pool, err := f.load()
	if err != nil {
		return nil, err
	}
	name := f.ServerName
	if name == "" {
		if name, _, err = net.SplitHostPort(converter); err != nil {
			return nil, err
		}
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: name,
		MinVersion: tls.VersionTLS13}, nil
}

// TLSDialer dials with Dialer and runs TLS over the connection.
type TLSDialer struct {
	Dialer Dialer
	Config *tls.Config
}

// DialContext implements Dialer. The handshake starts with the first
// write (the Convert message), so that with TCP Fast Open the ClientHello
// rides the SYN.
func (d *TLSDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := d.Dialer.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return tls.Client(c, d.Config), nil
}

// closeAfterAlert ends a connection whose TLS handshake the server
// refused with a FIN, not a reset, and waits a little for the client's
// end: a reset could reach the client before it reads the alert, which
// says why.
func closeAfterAlert(c net.Conn) {
	nc := c
	if tc, ok := c.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	if cw, ok := nc.(closeWriter); ok {
		_ = cw.CloseWrite()
		_ = nc.SetReadDeadline(time.Now().Add(time.Second))
		_, _ = io.Copy(io.Discard, nc)
	}
	_ = nc.Close()
}

// tlsHandshake completes the server side of a TLS connection, within the
// server's handshake time; an error is a refusal (no certificate, or one
// the client CA did not sign).
func (s *Server) tlsHandshake(c net.Conn) error {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout())
	defer cancel()
	return tc.HandshakeContext(ctx)
}
