//go:build linux

package perfbench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mptcp-go/mptcp/internal/lab"
)

// iperf3Row measures kernel to kernel with iperf3 at both ends, made to
// use MPTCP by mptcpize: a reference free of this package's Go code. It
// reports false when the programs are missing.
func iperf3Row(ctx context.Context, cfg Config, subflows int, logf func(string, ...any)) (Row, bool) {
	for _, p := range []string{"iperf3", "mptcpize"} {
		if _, err := exec.LookPath(p); err != nil {
			logf("no iperf3 reference row: %s not installed", p)
			return Row{}, false
		}
	}
	row := Row{Name: "kernel -> kernel (iperf3)", Sender: Kernel, Receiver: Kernel, Subflows: subflows, Iperf3: true}
	var runs []float64
	for i := range cfg.Repeat {
		g, err := iperf3Once(ctx, cfg.Duration, subflows)
		if err != nil {
			row.Failures++
			row.Error = err.Error()
			logf("%s: run %d: %v", row.Name, i+1, err)
			continue
		}
		logf("%-18s %d subflow(s): run %d: %.2f Gbit/s", row.Name, subflows, i+1, g)
		runs = append(runs, g)
	}
	if len(runs) > 0 {
		row.Error = ""
		row.Runs = runs
		sorted := slices.Clone(runs)
		slices.Sort(sorted)
		row.Gbps = sorted[len(sorted)/2]
	}
	return row, true
}

func iperf3Once(ctx context.Context, d time.Duration, subflows int) (float64, error) {
	tp, err := lab.Build(lab.Config{Paths: subflows})
	if err != nil {
		return 0, err
	}
	defer tp.Close()
	// The same path-manager setup as the Go rows (see runCase).
	for _, n := range []lab.Netns{tp.Client, tp.Server} {
		if err := n.MPTCPLimits(8, 8); err != nil {
			return 0, err
		}
	}
	for _, p := range tp.Paths[1:] {
		if err := tp.Client.AddMPTCPEndpoint(lab.Endpoint{Addr: p.Client.V4, Flags: []string{"subflow"}}); err != nil {
			return 0, err
		}
	}
	addr := netip.AddrPortFrom(tp.Paths[0].Server.V4, port)
	srv := tp.Server.Command("mptcpize", "run", "iperf3", "-s", "-1", "-p", strconv.Itoa(port))
	if err := srv.Start(); err != nil {
		return 0, fmt.Errorf("iperf3 server: %w", err)
	}
	defer func() {
		srv.Process.Kill()
		srv.Wait()
	}()
	// Wait until the server listens: on a loaded machine it takes a
	// while to start.
	for try := 0; ; try++ {
		out, _ := tp.Server.Exec("ss", "-Hltn", "sport = :"+strconv.Itoa(port))
		if strings.TrimSpace(out) != "" {
			break
		}
		if try == 100 || ctx.Err() != nil {
			return 0, fmt.Errorf("the iperf3 server did not listen within 10 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	secs := strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
	out, err := tp.Client.Command("mptcpize", "run", "iperf3", "-c", addr.Addr().String(), "-p", strconv.Itoa(port), "-t", secs, "-J").Output()
	if err != nil && len(out) == 0 {
		return 0, fmt.Errorf("iperf3 client: %w", err)
	}
	var doc struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return 0, fmt.Errorf("iperf3 output: %w", err)
	}
	if doc.Error != "" {
		return 0, fmt.Errorf("iperf3: %s", doc.Error)
	}
	// mptcpize really made it MPTCP: the client's kernel counted an
	// MP_CAPABLE SYN/ACK.
	c, err := tp.Client.Nstat()
	if err != nil {
		return 0, err
	}
	if c["MPTcpExtMPCapableSYNACKRX"] == 0 {
		return 0, fmt.Errorf("iperf3 under mptcpize did not use MPTCP")
	}
	// iperf3 opens a control connection and a data connection, each of
	// which joins every extra path.
	if j := c["MPTcpExtMPJoinSynAckRx"]; j < uint64(subflows-1) {
		return 0, fmt.Errorf("the kernel client joined %d subflows, want %d", j, subflows-1)
	}
	return doc.End.SumReceived.BitsPerSecond / 1e9, nil
}
