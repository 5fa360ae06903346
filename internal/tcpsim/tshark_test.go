package tcpsim

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/pcap"
)

// TestCaptureDissectsClean writes a capture of a lossy transfer with a
// close and a reset and has tshark dissect it: no malformed packet, no
// bad checksum, and the expert notices of a healthy TCP flow only.
func TestCaptureDissectsClean(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed (apt-get install tshark)")
	}
	pc := netsim.PipeConfig{Rate: 10e6, Delay: 5 * time.Millisecond, QueueBytes: 30_000, Loss: 0.01}
	p := newPath(t, 9, pc, "cubic", nil)
	file := filepath.Join(t.TempDir(), "tcp.pcap")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pcap.NewWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	p.client.Interfaces()[0].Capture(w)
	cli, srv := p.transfer(t, 1<<20, 256<<10)
	if !p.runUntilDone(60*time.Second, cli, srv) {
		t.Fatal("incomplete")
	}
	p.sim.RunFor(time.Second)
	f.Close()
	cmd := exec.Command(tshark, "-r", file, "-o", "tcp.check_checksum:TRUE", "-Y", "_ws.malformed || _ws.expert.severity >= error || tcp.checksum.status == 0",
		"-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, stderr.String())
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Fatalf("tshark found problems:\n%s", s)
	}
	n, _ := exec.Command(tshark, "-r", file, "-T", "fields", "-e", "frame.number").Output()
	t.Logf("%d packets dissected clean", strings.Count(string(n), "\n"))
}
