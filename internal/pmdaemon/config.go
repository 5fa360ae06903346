package pmdaemon

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Policy names.
const (
	PolicyFullmesh   = "fullmesh"
	PolicyNdiffports = "ndiffports"
	PolicyNone       = "none"
)

// Defaults and bounds.
const (
	DefaultNdiffports  = 2
	DefaultMaxSubflows = 8
	// MaxSubflowsLimit bounds max_subflows: address ids are 8 bits and the
	// kernel's MP_JOIN handling is tested far below this.
	MaxSubflowsLimit = 64
)

// Config is the daemon's configuration, as read from YAML:
//
//	policy: fullmesh          # fullmesh | ndiffports | none
//	ndiffports: 4             # subflows over the initial address pair (ndiffports)
//	max_subflows: 8           # extra subflows per connection, at most (policy none: zero)
//	interfaces:
//	  allow: ["eth*", "wlan*"] # only these interfaces (empty: all)
//	  deny: ["docker*"]        # never these
//	backup: ["wwan*"]          # subflows on these interfaces are backup
//	announce:                  # to every connection this host accepts
//	  - address: 192.0.2.10
//	  - address: 192.0.2.10
//	    port: 8443
//	  - port: 8443             # the connection's own address, another port
//	  - interface: eth1        # every address of eth1
//	path_manager: switch      # switch | keep
//
// Interface patterns are shell globs (path.Match).
type Config struct {
	Policy      string     `yaml:"policy"`
	Ndiffports  int        `yaml:"ndiffports"`
	MaxSubflows int        `yaml:"max_subflows"`
	Interfaces  Interfaces `yaml:"interfaces"`
	Backup      []string   `yaml:"backup"`
	Announce    []Announce `yaml:"announce"`
	// PathManager says whether Run switches net.mptcp.path_manager to
	// "userspace" and restores it on exit ("switch", the default), or
	// leaves it alone ("keep").
	PathManager string `yaml:"path_manager"`
}

// Interfaces restricts which interfaces' addresses are used.
type Interfaces struct {
	Allow []string `yaml:"allow"`
	Deny  []string `yaml:"deny"`
}

// Announce is one address (or port) to announce to every connection this
// host accepts. Exactly one of Address and Interface may be set; with
// neither, Port is announced on the connection's own address.
type Announce struct {
	Address   string `yaml:"address"`
	Port      uint16 `yaml:"port"`
	Interface string `yaml:"interface"`

	addr netip.Addr // parsed Address
}

// Path manager switch modes.
const (
	PathManagerSwitch = "switch"
	PathManagerKeep   = "keep"
)

// DefaultConfig returns the configuration used when no file is given.
func DefaultConfig() Config {
	return Config{
		Policy:      PolicyFullmesh,
		Ndiffports:  DefaultNdiffports,
		MaxSubflows: DefaultMaxSubflows,
		PathManager: PathManagerSwitch,
	}
}

// ConfigError names the configuration field that is wrong.
type ConfigError struct {
	Field string // dotted path, such as "interfaces.allow[1]"
	Line  int    // line in the file, when known
	Msg   string
}

// Error gives the line (when known), the field and what is wrong.
func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("config line %d: %s: %s", e.Line, e.Field, e.Msg)
	}
	return fmt.Sprintf("config: %s: %s", e.Field, e.Msg)
}

// LoadConfig reads and validates a YAML configuration file. Fields the
// file leaves out keep their DefaultConfig values.
func LoadConfig(name string) (Config, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	cfg, err := ParseConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	return cfg, nil
}

// yamlErrLine matches the "line N: " of yaml.v3's messages.
var yamlErrLine = regexp.MustCompile(`line (\d+): (.*)`)

// ParseConfig parses and validates a YAML configuration. Unknown fields
// are errors, so that a misspelt option is not silently ignored.
func ParseConfig(b []byte) (Config, error) {
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, yamlError(err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// yamlError rewrites yaml.v3's messages ("yaml: unmarshal errors:\n  line
// 3: field polcy not found in type daemon.Config") as one line that names
// the field.
func yamlError(err error) error {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 0
	if m := yamlErrLine.FindStringSubmatch(msg); m != nil {
		fmt.Sscan(m[1], &line)
		msg = m[2]
	}
	if f, ok := strings.CutPrefix(msg, "field "); ok {
		if name, _, ok := strings.Cut(f, " not found"); ok {
			return &ConfigError{Field: name, Line: line, Msg: "unknown field"}
		}
	}
	// "cannot unmarshal !!str `abc` into int" and the like.
	msg = strings.ReplaceAll(msg, "cannot unmarshal", "cannot read")
	return &ConfigError{Field: "(yaml)", Line: line, Msg: msg}
}

// Validate checks every field and fills in parsed values.
func (c *Config) Validate() error {
	switch c.Policy {
	case PolicyFullmesh, PolicyNdiffports, PolicyNone:
	case "":
		c.Policy = PolicyFullmesh
	default:
		return &ConfigError{Field: "policy", Msg: fmt.Sprintf("unknown policy %q (want fullmesh, ndiffports or none)", c.Policy)}
	}
	if c.Ndiffports == 0 {
		c.Ndiffports = DefaultNdiffports
	}
	if c.Ndiffports < 1 || c.Ndiffports > MaxSubflowsLimit+1 {
		return &ConfigError{Field: "ndiffports", Msg: fmt.Sprintf("must be from 1 to %d, got %d", MaxSubflowsLimit+1, c.Ndiffports)}
	}
	if c.MaxSubflows == 0 {
		c.MaxSubflows = DefaultMaxSubflows
	}
	if c.MaxSubflows < 0 || c.MaxSubflows > MaxSubflowsLimit {
		return &ConfigError{Field: "max_subflows", Msg: fmt.Sprintf("must be from 1 to %d, got %d", MaxSubflowsLimit, c.MaxSubflows)}
	}
	for _, l := range []struct {
		field string
		pats  []string
	}{{"interfaces.allow", c.Interfaces.Allow}, {"interfaces.deny", c.Interfaces.Deny}, {"backup", c.Backup}} {
		for i, p := range l.pats {
			if _, err := path.Match(p, ""); err != nil || p == "" {
				return &ConfigError{Field: fmt.Sprintf("%s[%d]", l.field, i), Msg: fmt.Sprintf("bad interface pattern %q", p)}
			}
		}
	}
	for i := range c.Announce {
		a := &c.Announce[i]
		field := fmt.Sprintf("announce[%d]", i)
		switch {
		case a.Address != "" && a.Interface != "":
			return &ConfigError{Field: field, Msg: "give address or interface, not both"}
		case a.Address == "" && a.Interface == "" && a.Port == 0:
			return &ConfigError{Field: field, Msg: "needs an address, an interface or a port"}
		case a.Address != "":
			ip, err := netip.ParseAddr(a.Address)
			if err != nil || ip.Zone() != "" {
				return &ConfigError{Field: field + ".address", Msg: fmt.Sprintf("bad IP address %q", a.Address)}
			}
			a.addr = ip.Unmap()
		}
	}
	switch c.PathManager {
	case "":
		c.PathManager = PathManagerSwitch
	case PathManagerSwitch, PathManagerKeep:
	default:
		return &ConfigError{Field: "path_manager", Msg: fmt.Sprintf("unknown value %q (want switch or keep)", c.PathManager)}
	}
	return nil
}
