package scan

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func fakeResolver(ctx context.Context, host string) ([]netip.Addr, error) {
	switch host {
	case "dual.example":
		return []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::10")}, nil
	case "v4.example":
		return []netip.Addr{netip.MustParseAddr("::ffff:192.0.2.11")}, nil
	}
	return nil, fmt.Errorf("lookup %s: no such host", host)
}

func targets(s ...string) []Target {
	var out []Target
	for _, x := range s {
		out = append(out, Target{Addr: netip.MustParseAddrPort(x).Addr(), Port: netip.MustParseAddrPort(x).Port()})
	}
	return out
}

func TestExpand(t *testing.T) {
	for _, c := range []struct {
		specs []string
		cfg   ExpandConfig
		want  []Target
	}{
		{[]string{"192.0.2.1"}, ExpandConfig{}, targets("192.0.2.1:80", "192.0.2.1:443")},
		{[]string{"192.0.2.1:8080"}, ExpandConfig{}, targets("192.0.2.1:8080")},
		{[]string{"2001:db8::1"}, ExpandConfig{Ports: []uint16{22}}, targets("[2001:db8::1]:22")},
		{[]string{"[2001:db8::1]:443"}, ExpandConfig{}, targets("[2001:db8::1]:443")},
		{[]string{"[::ffff:192.0.2.1]:443"}, ExpandConfig{}, targets("192.0.2.1:443")},
		{[]string{"192.0.2.4/30"}, ExpandConfig{Ports: []uint16{443}},
			targets("192.0.2.4:443", "192.0.2.5:443", "192.0.2.6:443", "192.0.2.7:443")},
		// An unmasked range is the range its prefix names.
		{[]string{"192.0.2.6/31:25"}, ExpandConfig{}, targets("192.0.2.6:25", "192.0.2.7:25")},
		{[]string{"[2001:db8::/127]:443"}, ExpandConfig{}, targets("[2001:db8::]:443", "[2001:db8::1]:443")},
		{[]string{"2001:db8::/127:443"}, ExpandConfig{}, targets("[2001:db8::]:443", "[2001:db8::1]:443")},
		// Duplicates are probed once, in first-named order.
		{[]string{"192.0.2.1:443", "192.0.2.1", "192.0.2.0/31:443"}, ExpandConfig{},
			targets("192.0.2.1:443", "192.0.2.1:80", "192.0.2.0:443")},
		{[]string{"dual.example:443"}, ExpandConfig{Resolve: fakeResolver}, targets("192.0.2.10:443", "[2001:db8::10]:443")},
		{[]string{"dual.example"}, ExpandConfig{Resolve: fakeResolver, Family: IPv6Only, Ports: []uint16{1}}, targets("[2001:db8::10]:1")},
		{[]string{"v4.example:7"}, ExpandConfig{Resolve: fakeResolver}, targets("192.0.2.11:7")},
		// A range never yields the unspecified or broadcast address.
		{[]string{"0.0.0.0/31:1"}, ExpandConfig{}, targets("0.0.0.1:1")},
	} {
		got, err := Expand(context.Background(), c.specs, c.cfg)
		if err != nil {
			t.Errorf("%q: %v", c.specs, err)
			continue
		}
		if d := cmp.Diff(c.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
			t.Errorf("%q (-want +got):\n%s", c.specs, d)
		}
	}
}

func TestExpandErrors(t *testing.T) {
	for _, c := range []struct {
		spec    string
		cfg     ExpandConfig
		want    error
		message string
	}{
		{"10.0.0.300", ExpandConfig{}, ErrBadTarget, `bad target "10.0.0.300": not a valid IPv4 address`},
		{"10.0.0.1:0", ExpandConfig{}, ErrBadTarget, "port 0"},
		{"10.0.0.1:99999", ExpandConfig{}, ErrBadTarget, `bad port "99999"`},
		{"host:http", ExpandConfig{}, ErrBadTarget, `bad port "http"`},
		{"10.0.0.0/33", ExpandConfig{}, ErrBadTarget, "not a valid CIDR range"},
		{"10.0.0.0/24:x", ExpandConfig{}, ErrBadTarget, `bad port "x"`},
		{"[2001:db8::/64", ExpandConfig{}, ErrBadTarget, "missing ']'"},
		{"2001:db8::zz", ExpandConfig{}, ErrBadTarget, "not a valid IPv6 address"},
		{"fe80::1%eth0", ExpandConfig{}, ErrBadTarget, "zoned"},
		{"224.0.0.1", ExpandConfig{}, ErrBadTarget, "multicast"},
		{"224.0.0.0/24", ExpandConfig{}, ErrBadTarget, "multicast"},
		{"0.0.0.0", ExpandConfig{}, ErrBadTarget, "unspecified"},
		{"255.255.255.255:80", ExpandConfig{}, ErrBadTarget, "broadcast"},
		{"bad_host!", ExpandConfig{}, ErrBadTarget, "not a valid host name"},
		{"", ExpandConfig{}, ErrBadTarget, "empty target"},
		{"nowhere.example", ExpandConfig{Resolve: fakeResolver}, ErrBadTarget, "no such host"},
		{"v4.example", ExpandConfig{Resolve: fakeResolver, Family: IPv6Only}, ErrBadTarget, "no usable address"},
		{"::1", ExpandConfig{Family: IPv4Only}, ErrBadTarget, "IPv6 target in an IPv4-only scan"},
		{"10.0.0.0/8", ExpandConfig{}, ErrTooManyTargets, `"10.0.0.0/8" expands to 16777216 addresses, more than the limit of 65536`},
		{"10.0.0.0/29", ExpandConfig{MaxAddrs: 4}, ErrTooManyTargets, "expands to 8 addresses"},
		{"2001:db8::/32", ExpandConfig{}, ErrTooManyTargets, "2^96"},
	} {
		_, err := Expand(context.Background(), []string{c.spec}, c.cfg)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.message) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error %v, want %v containing %q on one line", c.spec, err, c.want, c.message)
		}
	}
	// The cap counts the addresses of all targets together.
	if _, err := Expand(context.Background(), []string{"10.0.0.0/31", "10.0.1.0/31", "10.0.2.1"}, ExpandConfig{MaxAddrs: 4}); !errors.Is(err, ErrTooManyTargets) {
		t.Errorf("5 addresses under a cap of 4: %v", err)
	}
	if _, err := Expand(context.Background(), nil, ExpandConfig{}); !errors.Is(err, ErrBadTarget) {
		t.Errorf("no targets: %v", err)
	}
}

func TestParsePorts(t *testing.T) {
	got, err := ParsePorts("443,80,8000-8002,80")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]uint16{443, 80, 8000, 8001, 8002}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	for _, bad := range []string{"", "0", "65536", "10-5", "http", "1,,2"} {
		if _, err := ParsePorts(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
