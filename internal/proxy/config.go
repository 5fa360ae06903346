package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// DefaultPort is the converter's default port.
const DefaultPort = 5124

// ServerConfig configures `mptcp proxy server`.
type ServerConfig struct {
	Listen       string   `yaml:"listen"`         // host:port of the converter (":5124")
	Stack        string   `yaml:"stack"`          // "kernel" (default) or "user"
	TFO          *bool    `yaml:"tfo"`            // TCP Fast Open (default on)
	Key          string   `yaml:"key"`            // pre-shared key
	KeyFile      string   `yaml:"key_file"`       // or a file holding it
	Allow        []string `yaml:"allow"`          // destination prefixes allowed (default: all)
	Deny         []string `yaml:"deny"`           // destination prefixes refused
	Ports        []uint16 `yaml:"ports"`          // destination ports allowed (default: all)
	AllowLocal   bool     `yaml:"allow_local"`    // allow the converter's own loopback / link-local
	MaxPerClient int      `yaml:"max_per_client"` // concurrent connections per client address
	Status       string   `yaml:"status"`         // address of the status/metrics endpoint ("" off)
	Trace        string   `yaml:"trace"`          // directory for a trace of each MPTCP connection (stack user)
	TLSCert      string   `yaml:"tls_cert"`       // mutual TLS: the converter's certificate (PEM)
	TLSKey       string   `yaml:"tls_key"`        // its key
	TLSClientCA  string   `yaml:"tls_client_ca"`  // the CA that signs the clients' certificates
}

// ClientConfig configures `mptcp proxy client`.
type ClientConfig struct {
	Server      string `yaml:"server"`      // the converter's host:port
	Socks       string `yaml:"socks"`       // SOCKS5 + HTTP CONNECT listener ("127.0.0.1:1080")
	Transparent string `yaml:"transparent"` // REDIRECT/TPROXY listener ("" off)
	TProxy      bool   `yaml:"tproxy"`      // the transparent listener is for TPROXY
	Stack       string `yaml:"stack"`       // "kernel" (default) or "user"
	TFO         *bool  `yaml:"tfo"`
	Key         string `yaml:"key"`
	KeyFile     string `yaml:"key_file"`
	User        string `yaml:"user"`     // SOCKS5 / HTTP CONNECT user (RFC 1929, Basic)
	Password    string `yaml:"password"` // and password
	Strict      bool   `yaml:"strict"`   // answer SOCKS/HTTP only after the converter did
	Status      string `yaml:"status"`
	Trace       string `yaml:"trace"`           // directory for a trace of each MPTCP connection (stack user)
	TLSCert     string `yaml:"tls_cert"`        // mutual TLS: the client's certificate (PEM)
	TLSKey      string `yaml:"tls_key"`         // its key
	TLSCA       string `yaml:"tls_ca"`          // the CA that signs the converter's certificate
	TLSName     string `yaml:"tls_server_name"` // the name checked in it (default: the server's host)
}

// FileConfig is the YAML file: either section or both.
type FileConfig struct {
	Server *ServerConfig `yaml:"server"`
	Client *ClientConfig `yaml:"client"`
}

// LoadConfig reads a YAML configuration file, refusing unknown keys so a
// misspelt setting is an error rather than silently ignored.
func LoadConfig(path string) (*FileConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("%s: empty configuration", path)
	}
	var fc FileConfig
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil {
		return nil, fmt.Errorf("%s: %v", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return &fc, nil
}

// loadKey returns the pre-shared key given inline or in a file (not both).
func loadKey(key, file string) ([]byte, error) {
	if key != "" && file != "" {
		return nil, errors.New("both key and key_file given")
	}
	if file == "" {
		return []byte(key), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading key: %w", err)
	}
	k := bytes.TrimSpace(b)
	if len(k) == 0 {
		return nil, fmt.Errorf("key file %s is empty", file)
	}
	return k, nil
}

func parsePrefixes(what string, ss []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range ss {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("%s: %q is not a prefix or address", what, s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func checkStack(s string) error {
	switch s {
	case "", "kernel", "user":
		return nil
	}
	return fmt.Errorf("stack %q: want kernel or user", s)
}

func on(b *bool) bool { return b == nil || *b }
