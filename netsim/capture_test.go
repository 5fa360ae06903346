package netsim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
	"github.com/mptcp-go/mptcp/pcap"
	"github.com/mptcp-go/mptcp/wire"
)

// impairedRun runs a scenario with every source of randomness on, captures
// both ends of the path, and returns the capture bytes and the sequence
// numbers b received.
func impairedRun(t *testing.T, seed uint64) ([]byte, []uint64) {
	t.Helper()
	cfg := PipeConfig{Rate: 20e6, Delay: 2 * time.Millisecond, QueuePackets: 20, Loss: 0.05,
		Jitter: 500 * time.Microsecond, Reorder: 0.05, ReorderDelay: time.Millisecond, Duplicate: 0.02}
	s, a, r, b := routed(t, seed, cfg, cfg)
	r.SendICMP = true
	var buf bytes.Buffer
	w, err := pcap.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	a.Interfaces()[0].Capture(w)
	r.Interfaces()[1].Out().Capture(w, AtDelivery)
	// b echoes everything back, so both directions carry traffic.
	stackOf(b).onDeliver = func(now time.Time, pkt []byte) {
		stackOf(b).out = append(stackOf(b).out, udpPacket(addrB, addrA, packetSeq(pkt), len(pkt)))
	}
	for i := range 300 {
		src, dst := addrA, addrB
		if i%3 == 0 {
			src, dst = addrA6, addrB6
		}
		pkt := udpPacket(src, dst, uint64(i), 200+i*4)
		if i%50 == 7 {
			// Expires at the router, which answers with ICMP: tshark
			// checks those too.
			if src.Is4() {
				wire.IPv4(pkt).SetTTL(1)
			} else {
				wire.IPv6(pkt).SetHopLimit(1)
			}
		}
		sendAt(s, a, time.Duration(i)*200*time.Microsecond, pkt)
	}
	s.Run()
	if err := s.CaptureErr(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), stackOf(b).seqs()
}

func TestDeterminism(t *testing.T) {
	pcap1, got1 := impairedRun(t, 42)
	pcap2, got2 := impairedRun(t, 42)
	if !bytes.Equal(pcap1, pcap2) {
		t.Error("same seed, different capture bytes")
	}
	if !slices.Equal(got1, got2) {
		t.Error("same seed, different deliveries")
	}
	pcap3, got3 := impairedRun(t, 43)
	if bytes.Equal(pcap1, pcap3) || slices.Equal(got1, got3) {
		t.Error("different seeds, same run")
	}
}

// Adding a link elsewhere does not change the randomness of existing ones.
func TestRandomnessIsPerComponent(t *testing.T) {
	lossPattern := func(extra bool) []uint64 {
		s := New(5)
		if extra {
			x := must(s.NewHost("x"))
			y := must(s.NewHost("y"))
			must(s.Connect(must(x.AddInterface("e")), must(y.AddInterface("e")), PipeConfig{Loss: 0.5}))
		}
		a := must(s.NewHost("a"))
		b := must(s.NewHost("b"))
		ia := must(a.AddInterface("eth0", mustPrefix("10.0.1.2/24")))
		ib := must(b.AddInterface("eth0", mustPrefix("10.0.2.2/24")))
		must(s.Connect(ia, ib, PipeConfig{Loss: 0.2}))
		a.SetStack(&testStack{})
		b.SetStack(&testStack{})
		sendSpaced(s, a, 500, time.Millisecond, 100)
		s.Run()
		return stackOf(b).seqs()
	}
	if !slices.Equal(lossPattern(false), lossPattern(true)) {
		t.Error("adding a link changed another link's loss pattern")
	}
}

// The capture reads back with gopacket, with virtual timestamps, and tshark
// (if installed) dissects it without finding anything malformed.
func TestCaptureReadable(t *testing.T) {
	data, _ := impairedRun(t, 42)
	rd, err := pcapgo.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	var last time.Time
	for {
		pkt, ci, err := rd.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("packet %d: %v", n, err)
		}
		if ci.Timestamp.Before(Epoch) || ci.Timestamp.After(Epoch.Add(time.Second)) {
			t.Fatalf("packet %d timestamp %v outside the run", n, ci.Timestamp)
		}
		if ci.Timestamp.Before(last) {
			t.Fatalf("packet %d timestamp %v before previous %v", n, ci.Timestamp, last)
		}
		last = ci.Timestamp
		if _, _, ok := ipAddrs(pkt); !ok || len(pkt) != ci.Length {
			t.Fatalf("packet %d does not parse as IP", n)
		}
		n++
	}
	if n < 600 {
		t.Errorf("read %d packets, want at least 600", n)
	}

	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed; skipping dissection check")
	}
	path := filepath.Join(t.TempDir(), "run.pcap")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runTshark(tshark, "-r", path, "-o", "udp.check_checksum:TRUE", "-Y", "_ws.malformed || _ws.expert.severity >= warning")
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("tshark found malformed or suspicious packets:\n%s", s)
	}
	// Control: the same filter does flag a packet with a bad checksum, so
	// an empty answer above means something.
	var ctl bytes.Buffer
	cw, _ := pcap.NewWriter(&ctl)
	bad := udpPacket(addrA, addrB, 1, 100)
	bad[27] ^= 0x55
	cw.WritePacket(Epoch, bad)
	ctlPath := filepath.Join(t.TempDir(), "control.pcap")
	if err := os.WriteFile(ctlPath, ctl.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runTshark(tshark, "-r", ctlPath, "-o", "udp.check_checksum:TRUE", "-Y", "_ws.malformed || _ws.expert.severity >= warning"); err != nil || len(out) == 0 {
		t.Errorf("tshark filter did not flag a bad checksum (err %v)", err)
	}

	out, err = runTshark(tshark, "-r", path)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(out), "\n"); lines != n {
		t.Errorf("tshark listed %d packets, want %d", lines, n)
	}
}

// runTshark returns tshark's standard output; its standard error (where it
// warns about running as root) goes into the error only.
func runTshark(tshark string, args ...string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(tshark, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("tshark %v: %w\n%s", args, err, stderr.Bytes())
	}
	return out, nil
}

type failingWriter struct{ n int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n--; f.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestCaptureErrorDoesNotStopRun(t *testing.T) {
	s, a, b, l := pair(t, 1, PipeConfig{}, PipeConfig{})
	w, err := pcap.NewWriter(&failingWriter{n: 3})
	if err != nil {
		t.Fatal(err)
	}
	l.AB().Capture(w, AtEnqueue)
	sendSpaced(s, a, 10, time.Millisecond, 100)
	s.Run()
	if s.CaptureErr() == nil {
		t.Error("no capture error reported")
	}
	if n := len(stackOf(b).got); n != 10 {
		t.Errorf("%d delivered, want 10", n)
	}
}
