package mptcp_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp"
	"github.com/mptcp-go/mptcp/wire"
)

// TestOffloadChecksumsLoops checks that only the drivers' word turns
// checksum verification off, and only once every loop's driver gave it: a
// loop delivers packets the other loops' drivers read for it. A corrupted
// SYN is counted as a checksum error until then.
func TestOffloadChecksumsLoops(t *testing.T) {
	st, err := mptcp.NewStack(mptcp.Config{Loops: 2})
	if err != nil {
		t.Fatal(err)
	}
	us, peer := netip.MustParseAddr("10.9.0.2"), netip.MustParseAddr("10.9.0.1")
	st.AddAddress(us)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	bad := func(port uint16) []byte {
		p := wire.AppendTCPPacket(nil, peer, us, &wire.TCPFields{SrcPort: port, DstPort: 80, Seq: 1, Flags: wire.FlagSYN, Window: 1000}, nil, []byte("x"))
		p[len(p)-1] ^= 0xff
		return p
	}
	deliver := func() {
		// Several source ports, so that both loops get some.
		for port := uint16(40000); port < 40016; port++ {
			st.Link().Deliver(now, bad(port))
		}
		st.Link().Poll(now, func([]byte) {})
	}
	deliver()
	if got := st.TCPStats().InCsumErrors; got != 16 {
		t.Fatalf("%d checksum errors, want 16", got)
	}
	st.Loop(0).OffloadChecksums(true, true)
	deliver()
	if got := st.TCPStats().InCsumErrors; got != 32 {
		t.Fatalf("one loop's driver verifying: %d checksum errors, want 32 (the stack still verifies)", got)
	}
	st.Loop(1).OffloadChecksums(true, true)
	deliver()
	if got := st.TCPStats().InCsumErrors; got != 32 {
		t.Fatalf("every loop's driver verifying: %d checksum errors, want still 32", got)
	}
}
