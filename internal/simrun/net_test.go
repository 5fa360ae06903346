package simrun

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mptcp-go/mptcp/scenario"
)

func parseNet(t *testing.T, src string) *scenario.Net {
	t.Helper()
	n, err := scenario.ParseNet([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A small FatTree with a permutation matrix: every flow delivers intact
// data, ECMP spreads the subflows over several core switches, and the
// same seed gives the same result.
func TestNetFatTree(t *testing.T) {
	n := parseNet(t, `version: 2
duration: 300ms
topology:
  fattree: {k: 4, rate: 100Mbit, delay: 20us, queue: 50p}
traffic:
  - matrix: permutation
    subflows: 4
    cc: olia
    send_buffer: 256KiB
`)
	res, err := RunNet(n, NetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.IntegrityOK || res.Error != "" || len(res.Flows) != 16 {
		t.Fatalf("integrity %v, error %q, %d flows", res.IntegrityOK, res.Error, len(res.Flows))
	}
	for _, f := range res.Flows {
		if f.GoodputBps <= 0 || f.Subflows != 4 {
			t.Fatalf("flow %s: %.0f bit/s over %d subflows", f.Name, f.GoodputBps, f.Subflows)
		}
	}
	cores := map[string]bool{}
	for _, l := range res.Links {
		if strings.HasPrefix(l.To, "c") && l.Bytes > 0 {
			cores[l.To] = true
		}
	}
	if len(cores) < 3 {
		t.Fatalf("traffic reached %d of 4 core switches: ECMP is not spreading flows", len(cores))
	}
	if res.JainIndex <= 0 || res.JainIndex > 1 {
		t.Fatalf("Jain index %v", res.JainIndex)
	}
	again, err := RunNet(n, NetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(res)
	b, _ := json.Marshal(again)
	if string(a) != string(b) {
		t.Fatal("the same seed gave two results")
	}
}

// Every workload runs and is measured: request/response with a size
// distribution, an object series on a new connection each, a rate-limited
// stream, a sized bulk transfer with parallel connections, and a TCP
// competitor.
func TestNetWorkloads(t *testing.T) {
	n := parseNet(t, `version: 2
duration: 2s
topology:
  hosts: [a, b, c]
  routers: [r1, r2]
  links:
    - {a: a, b: r1, rate: 50Mbit, delay: 2ms}
    - {a: a, b: r2, rate: 20Mbit, delay: 10ms, endpoint: [subflow, backup]}
    - {a: b, b: r1, rate: 100Mbit, delay: 1ms}
    - {a: b, b: r2, rate: 100Mbit, delay: 1ms}
    - {a: c, b: r1, rate: 100Mbit, delay: 1ms, burst: {p: 1%, r: 50%}, mtu: 1500}
    - {a: r1, b: r2, rate: 100Mbit, delay: 1ms}
flows:
  - {name: rr, from: a, to: b, workload: {kind: requests, request: 200B, response: "exp(50KiB)", gap: 20ms}}
  - {name: obj, from: a, to: b, workload: {kind: objects, response: "uniform(100KiB,300KiB)", gap: 50ms, count: 4, new_connection: true}}
  - {name: vid, from: c, to: b, workload: {kind: rate, rate: 4Mbit}}
  - {name: bulk, from: c, to: a, connections: 3, send_buffer: 1MiB, receive_buffer: 2MiB, workload: {size: 1MiB}}
  - {name: tcp, from: c, to: b, protocol: tcp, cc: reno, start: 100ms}
`)
	res, err := RunNet(n, NetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.IntegrityOK || res.Error != "" {
		t.Fatalf("integrity %v, error %q", res.IntegrityOK, res.Error)
	}
	by := map[string]FlowResult{}
	for _, f := range res.Flows {
		by[f.Name] = f
	}
	if f := by["rr"]; f.Objects < 10 || f.ObjectP50S <= 0 || f.Subflows < 2 {
		t.Fatalf("requests: %+v", f)
	}
	if f := by["obj"]; !f.Completed || f.Objects != 4 || f.Connections != 4 || f.CompletionS <= 0 {
		t.Fatalf("objects: %+v", f)
	}
	if f := by["vid"]; f.GoodputBps < 3.5e6 || f.GoodputBps > 4.5e6 {
		t.Fatalf("rate 4 Mbit/s delivered %.2f Mbit/s", f.GoodputBps/1e6)
	}
	if f := by["bulk"]; !f.Completed || f.Connections != 3 || f.BytesDelivered != 3<<20 {
		t.Fatalf("bulk: %+v", f)
	}
	if f := by["tcp"]; f.Protocol != "tcp" || f.CC != "reno" || f.GoodputBps <= 0 || f.Subflows != 1 {
		t.Fatalf("tcp: %+v", f)
	}
	if len(res.Series) == 0 {
		t.Fatal("no series")
	}
	for _, table := range []string{CSVFlows, CSVLinks, CSVSeries} {
		var sb strings.Builder
		if err := WriteCSV(&sb, res, table); err != nil || strings.Count(sb.String(), "\n") < 2 {
			t.Fatalf("%s CSV: %v\n%s", table, err, sb.String())
		}
	}
}
