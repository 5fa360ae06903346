package pmdaemon

import (
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	cfg, err := ParseConfig([]byte(`
policy: ndiffports
ndiffports: 4
max_subflows: 6
interfaces:
  allow: ["eth*", "wlan0"]
  deny: ["docker*"]
backup: ["wwan*"]
announce:
  - address: 192.0.2.10
  - address: "2001:db8::1"
    port: 8443
  - port: 9000
  - interface: eth1
path_manager: keep
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Policy != PolicyNdiffports || cfg.Ndiffports != 4 || cfg.MaxSubflows != 6 ||
		len(cfg.Interfaces.Allow) != 2 || cfg.Backup[0] != "wwan*" || len(cfg.Announce) != 4 ||
		cfg.Announce[1].addr.String() != "2001:db8::1" || cfg.PathManager != PathManagerKeep {
		t.Errorf("parsed %+v", cfg)
	}
	empty, err := ParseConfig(nil)
	if err != nil || empty.Policy != PolicyFullmesh || empty.MaxSubflows != DefaultMaxSubflows || empty.PathManager != PathManagerSwitch {
		t.Errorf("empty config: %+v, %v", empty, err)
	}
}

func TestParseConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"polcy: fullmesh\n", "config line 1: polcy: unknown field"},
		{"policy: fulmesh\n", `config: policy: unknown policy "fulmesh" (want fullmesh, ndiffports or none)`},
		{"interfaces:\n  alow: [eth0]\n", "config line 2: alow: unknown field"},
		{"interfaces:\n  allow: [eth0, \"[\"]\n", `config: interfaces.allow[1]: bad interface pattern "["`},
		{"ndiffports: 100\n", "config: ndiffports: must be from 1 to 65, got 100"},
		{"max_subflows: -1\n", "config: max_subflows: must be from 1 to 64, got -1"},
		{"announce:\n  - address: 10.0.0.300\n", `config: announce[0].address: bad IP address "10.0.0.300"`},
		{"announce:\n  - {address: 10.0.0.1, interface: eth0}\n", "config: announce[0]: give address or interface, not both"},
		{"announce:\n  - {}\n", "config: announce[0]: needs an address, an interface or a port"},
		{"announce:\n  - port: 70000\n", "config line 2: (yaml): cannot read !!int `70000` into uint16"},
		{"path_manager: maybe\n", `config: path_manager: unknown value "maybe" (want switch or keep)`},
		{"policy: [a\n", "config line 1: (yaml): did not find expected ',' or ']'"},
	} {
		_, err := ParseConfig([]byte(tc.yaml))
		if err == nil {
			t.Errorf("%q: accepted", tc.yaml)
			continue
		}
		if got := err.Error(); got != tc.want || strings.Contains(got, "\n") {
			t.Errorf("%q:\n got %q\nwant %q", tc.yaml, got, tc.want)
		}
	}
}
