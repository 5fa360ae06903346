package simtest

import (
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
)

// TestIPv6 runs a two-path transfer over IPv6, with an announced second
// server address, and checks every byte.
func TestIPv6(t *testing.T) {
	n, err := NewNet(130, twoPaths(2), Options{IPv6: true, ServerAddrs: 2})
	if err != nil {
		t.Fatal(err)
	}
	p := transfer(t, n, 1<<20, 4<<20, core.ConnOptions{})
	if p.C.Conn.FellBack() || !p.C.Conn.RemoteAddr().Addr().Is6() {
		t.Fatalf("fell back %v, remote %v", p.C.Conn.FellBack(), p.C.Conn.RemoteAddr())
	}
	if n.CS.MIB().Get(core.AddAddr) == 0 || n.SS.MIB().Get(core.MPJoinAckRx) < 3 {
		logState(t, n, p)
		t.Fatalf("ADD_ADDR %d, joins %d", n.CS.MIB().Get(core.AddAddr), n.SS.MIB().Get(core.MPJoinAckRx))
	}
	_ = time.Second
}
