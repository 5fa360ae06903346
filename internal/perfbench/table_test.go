//go:build linux

package perfbench

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestRatiosAndTable(t *testing.T) {
	rows := []Row{
		{Name: "kernel -> kernel (iperf3)", Sender: Kernel, Receiver: Kernel, Subflows: 1, Iperf3: true, Gbps: 8},
		{Name: "kernel -> kernel (TCP)", Sender: Kernel, Receiver: Kernel, Subflows: 1, TCP: true, Gbps: 10},
		{Name: "kernel -> kernel", Sender: Kernel, Receiver: Kernel, Subflows: 1, Gbps: 4},
		{Name: "ours -> kernel", Sender: User, Receiver: Kernel, Subflows: 1, Loops: 2, Gbps: 2, CPU: 0.5, GbpsPerCPU: 4, Failures: 1},
		{Name: "kernel -> kernel", Sender: Kernel, Receiver: Kernel, Subflows: 2, Gbps: 5},
		{Name: "kernel -> ours", Sender: Kernel, Receiver: User, Subflows: 2, Loops: 1, Gbps: 1},
		{Name: "ours -> ours", Sender: User, Receiver: User, Subflows: 2, Loops: 1, Error: "client: boom", Failures: 3},
	}
	setRatios(rows)
	// One subflow: iperf3 (8) is the faster kernel reference; two: Go (5).
	want := []struct{ ratio, tcp float64 }{{1, 0.8}, {0, 0}, {0.5, 0.4}, {0.25, 0.2}, {1, 0.5}, {0.2, 0.1}, {0, 0}}
	for i, w := range want {
		if rows[i].Ratio != w.ratio || rows[i].TCPRatio != w.tcp {
			t.Errorf("%s, %d subflows: ratio %v, tcp ratio %v; want %v, %v", rows[i].Name, rows[i].Subflows, rows[i].Ratio, rows[i].TCPRatio, w.ratio, w.tcp)
		}
	}
	res := &Result{Kernel: "6.18", CPUs: 2, Duration: 5 * time.Second, Repeat: 3, Streams: 4, Driver: "super",
		LoadBefore: "1.00 2.00 3.00 1/100 42", LoadAfter: "4.00 5.00 6.00 2/100 43", Rows: rows}
	var b bytes.Buffer
	if err := res.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, s := range []string{
		"4 connection(s) at once, median of 3, TUN driver super, ours unpaced; load before 1.00 2.00 3.00, after 4.00 5.00 6.00",
		"ours -> kernel         1      2    2.00        25%     20%         0  0.50              4.00 (1 run(s) failed)",
		"kernel -> kernel (iperf3)         1      -    8.00       100%     80%         -",
		"ours -> ours         2      1  failed",
		"client: boom",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("table lacks %q:\n%s", s, out)
		}
	}
}

func TestCaseNames(t *testing.T) {
	cs := DefaultCases()
	if len(cs) != 9 || !cs[0].TCP {
		t.Fatalf("%d cases, first %+v; want the TCP reference then 8", len(cs), cs[0])
	}
	seen := map[string]bool{}
	for _, c := range cs {
		k := c.slug()
		if seen[k] {
			t.Errorf("slug %s twice", k)
		}
		seen[k] = true
	}
	if n := (Case{Sender: User, Receiver: Kernel, Subflows: 2}).Name(); n != "ours -> kernel" {
		t.Errorf("name %q", n)
	}
}
