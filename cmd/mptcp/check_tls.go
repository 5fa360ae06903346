package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mptcp-go/mptcp/internal/checkserve"
)

// checkTLSFlags are mptcp check serve's HTTPS flags.
type checkTLSFlags struct {
	ports, cert, key string
	selfSigned       bool
}

func (t *checkTLSFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&t.ports, "tls-ports", "443", "HTTPS `ports`, comma-separated, served with --tls-cert and --tls-key or --tls-self-signed")
	fs.StringVar(&t.cert, "tls-cert", "", "HTTPS certificate (chain) PEM `file`, read again when it changes")
	fs.StringVar(&t.key, "tls-key", "", "HTTPS private key PEM `file` of --tls-cert")
	fs.BoolVar(&t.selfSigned, "tls-self-signed", false, "serve HTTPS with a self-signed certificate made at start (tests, demos)")
}

// config returns the HTTPS configuration and ports, none when no
// certificate is given, and the words for the start line; plain are the
// HTTP ports, which the HTTPS ones may not repeat, and hosts the names a
// self-signed certificate is made for.
func (t *checkTLSFlags) config(fs *flag.FlagSet, plain []int, hosts []string) (*tls.Config, []int, string, error) {
	set := visited(fs)
	switch {
	case t.selfSigned && (t.cert != "" || t.key != ""):
		return nil, nil, "", usagef("--tls-self-signed and --tls-cert/--tls-key: give one")
	case (t.cert == "") != (t.key == ""):
		return nil, nil, "", usagef("--tls-cert and --tls-key go together")
	case t.cert == "" && !t.selfSigned:
		if set["tls-ports"] && t.ports != "" {
			return nil, nil, "", usagef("--tls-ports needs a certificate: --tls-cert and --tls-key, or --tls-self-signed")
		}
		return nil, nil, "", nil
	}
	var ports []int
	if t.ports != "" {
		var err error
		if ports, err = checkPorts("--tls-ports", t.ports); err != nil {
			return nil, nil, "", err
		}
	}
	for _, p := range ports {
		if slices.Contains(plain, p) {
			return nil, nil, "", usagef("port %d is in --ports and --tls-ports: one protocol per port", p)
		}
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	var cert tls.Certificate
	how := "certificate " + t.cert
	if t.selfSigned {
		var err error
		if cert, err = checkserve.SelfSigned(hosts, time.Now()); err != nil {
			return nil, nil, "", err
		}
		conf.Certificates = []tls.Certificate{cert}
		how = "self-signed certificate"
	} else {
		cf, err := checkserve.LoadCertFiles(t.cert, t.key)
		if err != nil {
			return nil, nil, "", err
		}
		cert = cf.Certificate()
		conf.GetCertificate = cf.GetCertificate
	}
	pin, err := checkserve.PublicKeyPin(cert)
	if err != nil {
		return nil, nil, "", fmt.Errorf("TLS certificate: %w", err)
	}
	if len(ports) == 0 {
		return nil, nil, "", nil
	}
	return conf, ports, fmt.Sprintf("\nHTTPS on ports %s (%s, public key %s for curl --pinnedpubkey)", joinInts(ports), how, pin), nil
}

// checkPorts parses a comma-separated list of ports.
func checkPorts(flagName, s string) ([]int, error) {
	var ports []int
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 || n > 65535 {
			return nil, usagef("%s: %q is not a port", flagName, p)
		}
		if slices.Contains(ports, n) {
			return nil, usagef("%s: port %d given twice", flagName, n)
		}
		ports = append(ports, n)
	}
	return ports, nil
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
