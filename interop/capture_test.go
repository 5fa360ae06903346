//go:build linux

package interop

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// MPTCP option subtypes as tshark's tcp.options.mptcp.subtype shows
// them (RFC 8684 section 7).
const (
	subMPCapable  = 0
	subMPJoin     = 1
	subDSS        = 2
	subAddAddr    = 3
	subRemoveAddr = 4
	subMPPrio     = 5
	subMPFail     = 6
	subFastclose  = 7
	subTCPRST     = 8
)

func haveTshark() bool {
	_, err := exec.LookPath("tshark")
	return err == nil
}

// checkCapture has tshark read a capture of our side: no packet may be
// malformed or carry an error-level expert note (a bad IP or TCP
// checksum among them: tshark checks them when asked).
func checkCapture(t *testing.T, path string) {
	t.Helper()
	if !haveTshark() {
		t.Log("tshark not installed (apt-get install -y tshark): capture not checked")
		return
	}
	out, err := tshark(path, "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
		"-Y", "_ws.malformed || _ws.expert.severity >= error")
	if err != nil {
		t.Errorf("tshark -r %s: %v: %s", path, err, out)
		return
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("tshark finds malformed or erroneous packets in %s:\n%s", path, s)
	}
}

// wire returns the lines tshark prints for the packets of our side's
// capture that match filter, with the given fields; ok is false when
// tshark is not installed. The driver must be stopped (e.stop) first, so
// that the capture is complete.
func (e *env) wire(filter string, fields ...string) (lines []string, ok bool) {
	e.t.Helper()
	if !haveTshark() {
		return nil, false
	}
	args := []string{"-Y", filter}
	if len(fields) > 0 {
		args = append(args, "-T", "fields", "-E", "separator=,")
		for _, f := range fields {
			args = append(args, "-e", f)
		}
	}
	out, err := tshark(e.pcap, args...)
	if err != nil {
		e.t.Fatalf("tshark %s: %v", strings.Join(args, " "), err)
	}
	s := strings.TrimSpace(string(out))
	if s == "" {
		return nil, true
	}
	return strings.Split(s, "\n"), true
}

// wireCount counts the packets of our side's capture that match filter;
// -1 when tshark is not installed.
func (e *env) wireCount(filter string) int {
	e.t.Helper()
	l, ok := e.wire(filter, "frame.number")
	if !ok {
		return -1
	}
	return len(l)
}

// tshark runs tshark on a capture and returns what it prints on
// standard output (it complains on standard error about running as
// root). The payload is decoded as plain data: tshark's heuristic
// dissectors would otherwise take random bytes for some protocol (Thrift)
// and call them malformed.
func tshark(path string, args ...string) ([]byte, error) {
	all := append([]string{"-n", "-r", path, "-d", fmt.Sprintf("tcp.port==%d,data", port)}, args...)
	cmd := exec.Command("tshark", all...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("tshark %s: %w: %s", strings.Join(all, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
