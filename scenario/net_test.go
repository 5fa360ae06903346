package scenario

import (
	"errors"
	"strings"
	"testing"
)

func TestFatTreeGenerator(t *testing.T) {
	n, err := ParseNet([]byte("version: 2\ntopology:\n  fattree: {k: 4, rate: 100Mbit, delay: 10us, queue: 1bdp}\ntraffic:\n  - matrix: permutation\n"))
	if err != nil {
		t.Fatal(err)
	}
	// k=4: 16 hosts; 4 core, 8 aggregation, 8 edge switches; 16 host
	// links, 16 edge-aggregation and 16 aggregation-core links.
	if len(n.Hosts) != 16 || len(n.Routers) != 20 || len(n.Links) != 48 {
		t.Fatalf("%d hosts, %d routers, %d links", len(n.Hosts), len(n.Routers), len(n.Links))
	}
	if len(n.Flows) != 16 {
		t.Fatalf("%d flows from a permutation of 16 hosts", len(n.Flows))
	}
	sends, gets := map[string]int{}, map[string]int{}
	for _, f := range n.Flows {
		if f.From == f.To {
			t.Fatalf("flow %s to itself", f.Name)
		}
		sends[f.To]++
		gets[f.From]++
	}
	for _, h := range n.Hosts {
		if sends[h] != 1 || gets[h] != 1 {
			t.Fatalf("host %s sends %d and receives %d flows, want 1 and 1", h, sends[h], gets[h])
		}
	}
	if q := n.Links[0].Link.Down.QueueBytes; q < 3000 {
		t.Fatalf("queue of 1 BDP: %d bytes", q)
	}
}

func TestLeafSpineAndMatrices(t *testing.T) {
	base := "version: 2\ntopology:\n  leafspine: {leaves: 3, spines: 2, hosts_per_leaf: 2, rate: 1Gbit, uplink: {rate: 10Gbit}}\ntraffic:\n  - matrix: "
	for m, want := range map[string]int{"permutation": 6, "random": 6, "incast": 5, "all-to-all": 30} {
		n, err := ParseNet([]byte(base + m + "\n"))
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if len(n.Hosts) != 6 || len(n.Routers) != 5 || len(n.Links) != 12 || len(n.Flows) != want {
			t.Fatalf("%s: %d hosts, %d routers, %d links, %d flows (want %d)", m, len(n.Hosts), len(n.Routers), len(n.Links), len(n.Flows), want)
		}
	}
}

// Every mistake gets one line naming the field.
func TestNetErrors(t *testing.T) {
	head := "version: 2\ntopology:\n  hosts: [a, b]\n  routers: [r]\n  links:\n    - {a: a, b: r}\n    - {a: b, b: r}\n"
	for _, tc := range []struct{ body, want string }{
		{"flows: [{from: a, to: c}]", `flows[0].to: "c" is not a host`},
		{"flows: [{from: a, to: b, protocol: sctp}]", `flows[0].protocol: "sctp"`},
		{"flows: [{from: a, to: b, workload: {kind: video}}]", `flows[0].workload.kind: "video"`},
		{"flows: [{from: a, to: b, workload: {kind: requests, response: \"pareto(1MiB,0.5)\"}}]", `flows[0].workload.response: pareto shape`},
		{"flows: [{from: a, to: b, workload: {kind: rate}}]", `flows[0].workload.rate: a rate workload needs a rate`},
		{"flows: [{from: a, to: b, subflows: 99}]", `flows[0].subflows: 99`},
		{"traffic: [{matrix: ring}]", `traffic[0].matrix: "ring"`},
		{"flows: [{from: a, to: b, bogus: 1}]", `flows[0].bogus: unknown field`},
	} {
		_, err := ParseNet([]byte(head + tc.body + "\n"))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want one line with %q", tc.body, err, tc.want)
		}
	}
	for _, tc := range []struct{ body, want string }{
		{"version: 2\ntopology:\n  fattree: {k: 5}\n", "topology.fattree.k: 5"},
		{"version: 2\ntopology:\n  hosts: [a, b]\n  links: [{a: a, b: b}]\n", "topology.links[0]: hosts do not forward"},
		{"version: 2\ntopology:\n  hosts: [a, b]\n  routers: [r]\n  links: [{a: a, b: r, endpoint: [sometimes]}]\n", `topology.links[0].endpoint[0]: "sometimes"`},
		{"version: 2\ntopology:\n  hosts: [a, b]\n  routers: [r]\n  links: [{a: a, b: r}]\nflows: [{from: a, to: b}]\n", `cannot reach`},
		{"version: 2\ntopology:\n  hosts: [a, b]\n  routers: [r]\n  links: [{a: a, b: r, burst: {p: 1%}}, {a: b, b: r}]\nflows: [{from: a, to: b}]\n", `topology.links[0].burst: needs p and r`},
	} {
		_, err := ParseNet([]byte(tc.body))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.body, err, tc.want)
		}
	}
}

func TestIsV2(t *testing.T) {
	if IsV2([]byte("paths: [{rate: 1Mbit}]\n")) || !IsV2([]byte("version: 2\n")) {
		t.Fatal("IsV2 misreads the version")
	}
}

func TestSubstitute(t *testing.T) {
	src := []byte("rate: ${rate}\ncc: ${cc:-olia}\n")
	got, err := Substitute(src, map[string]string{"rate": "10Mbit"})
	if err != nil || string(got) != "rate: 10Mbit\ncc: olia\n" {
		t.Fatalf("%q, %v", got, err)
	}
	if _, err := Substitute(src, nil); err == nil || !strings.Contains(err.Error(), "${rate} has no value") {
		t.Fatalf("missing value: %v", err)
	}
	if _, err := Substitute(src, map[string]string{"rate": "1", "k": "4"}); err == nil || !strings.Contains(err.Error(), "${k}") {
		t.Fatalf("unused value: %v", err)
	}
}
