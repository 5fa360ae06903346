package wire

import (
	"os/exec"
	"testing"
)

// needTshark returns the path of tshark, or skips the test when it is not
// installed.
func needTshark(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed (Debian package tshark); skipping the Wireshark cross-check")
	}
	return p
}
