package simtest

import (
	"net/netip"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/wire"
)

// tfoSYN is what the router saw of one SYN.
type tfoSYN struct {
	ack      bool
	payload  int
	cookie   int
	fastOpen bool
	mpc      bool
}

// tfoNet is a Net whose server listens with Fast Open on port 80, and
// whose router records SYNs and can drop packets.
type tfoNet struct {
	*Net
	ln   *core.Listener
	syns []tfoSYN
	drop func(t wire.TCP) bool
	next *Pair
}

func newTFONet(t *testing.T, paths []Path, serverTFO bool) *tfoNet {
	t.Helper()
	n, err := NewNet(7, paths, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tn := &tfoNet{Net: n}
	n.Router.AddProcessor(netsim.ProcessorFunc(func(_ time.Time, pkt []byte, emit func([]byte)) {
		if _, _, proto, payload, err := wire.ParseIP(pkt); err == nil && proto == wire.ProtoTCP {
			if tc, err := wire.ParseTCP(payload); err == nil {
				if tc.Flags()&wire.FlagSYN != 0 {
					var o wire.TCPOptions
					wire.ParseTCPOptions(tc.Options(), tc.Flags(), &o)
					tn.syns = append(tn.syns, tfoSYN{ack: tc.Flags()&wire.FlagACK != 0, payload: len(tc.Payload()),
						cookie: o.FastOpenCookieLen, fastOpen: o.FastOpen, mpc: o.MPTCP.Has(wire.SubtypeMPCapable)})
				}
				if tn.drop != nil && tn.drop(tc) {
					return
				}
			}
		}
		emit(pkt)
	}))
	if tn.ln, err = n.SS.Listen(netip.AddrPortFrom(netip.IPv4Unspecified(), 80)); err != nil {
		t.Fatal(err)
	}
	if serverTFO {
		tn.ln.SetFastOpen(16)
	}
	tn.ln.SetNotify(func() {
		for {
			c, err := tn.ln.Accept()
			if err != nil {
				return
			}
			p := tn.next
			p.S = &Endpoint{Conn: c, Host: n.Server, Key: 2, PeerKey: 1, Send: 5000}
			p.S.Attach(n.Sim.Now())
		}
	})
	return tn
}

// transfer runs one Fast Open connection: up bytes from the client, 5000
// back, every byte checked.
func (tn *tfoNet) transfer(t *testing.T, up int) *Pair {
	t.Helper()
	tn.syns = nil
	p := &Pair{}
	tn.next = p
	c, err := tn.CS.Dial(tn.Sim.Now(), netip.Addr{}, netip.AddrPortFrom(tn.ServerAddr, 80), core.ConnOptions{FastOpen: true})
	if err != nil {
		t.Fatal(err)
	}
	p.C = &Endpoint{Conn: c, Host: tn.Client, Key: 1, PeerKey: 2, Send: up}
	p.C.Attach(tn.Sim.Now())
	tn.RunUntilDone(p, 20*time.Second)
	if err := p.Check(up, 5000); err != nil {
		t.Logf("SYNs %+v\nclient MIB %v\nserver MIB %v\nserver TCP %+v", tn.syns, tn.CS.MIB(), tn.SS.MIB(), tn.SS.TCP().Stats())
		t.Fatal(err)
	}
	return p
}

func TestFastOpenMPTCP(t *testing.T) {
	tn := newTFONet(t, []Path{{Rate: 20e6, Delay: 10 * time.Millisecond}, {Rate: 10e6, Delay: 20 * time.Millisecond}}, true)
	tn.transfer(t, 3000)
	if s := tn.syns[0]; !s.fastOpen || s.cookie != 0 || s.payload != 0 || !s.mpc {
		t.Fatalf("first SYN %+v: want MP_CAPABLE with a cookie request, no data", s)
	}
	if s := tn.syns[1]; !s.ack || s.cookie == 0 || !s.mpc {
		t.Fatalf("first SYN/ACK %+v: want MP_CAPABLE and a cookie", s)
	}
	// The second connection: MP_CAPABLE, the cookie and the data in the
	// SYN; 200 KB so that the rest flows over both paths with mappings
	// counted after the SYN's bytes.
	p := tn.transfer(t, 200<<10)
	if s := tn.syns[0]; !s.mpc || s.cookie == 0 || s.payload == 0 {
		t.Fatalf("second SYN %+v: want MP_CAPABLE, the cookie and data", s)
	}
	if p.C.Conn.FellBack() || p.S.Conn.FellBack() {
		t.Fatal("fell back to TCP")
	}
	if got := tn.CS.MIB().Get(core.MPFastOpenActive); got != 1 {
		t.Fatalf("client MPFastOpenActive %d, want 1", got)
	}
	if got := tn.SS.MIB().Get(core.MPFastOpenPassive); got != 1 {
		t.Fatalf("server MPFastOpenPassive %d, want 1", got)
	}
	if st := tn.CS.TCP().Stats(); st.FastOpenActive != 1 || st.FastOpenActiveFail != 0 {
		t.Fatalf("client TCP: FastOpenActive %d, fail %d", st.FastOpenActive, st.FastOpenActiveFail)
	}
	if got := tn.CS.MIB().Get(core.MPJoinSynTx); got == 0 {
		t.Fatal("no join: the second path was not used")
	}

	// A third whose data all fits the SYN: the keys then go on a pure
	// ACK, and the server's answer flows.
	p = tn.transfer(t, 900)
	if s := tn.syns[0]; s.payload != 900 || p.C.Conn.FellBack() {
		t.Fatalf("third SYN %+v, fell back %v", s, p.C.Conn.FellBack())
	}
}

// TestFastOpenMPTCPLostSYN: the SYN with data is lost; the retransmitted
// SYN carries none, and the data goes with mappings after the handshake.
func TestFastOpenMPTCPLostSYN(t *testing.T) {
	tn := newTFONet(t, []Path{{Rate: 20e6, Delay: 10 * time.Millisecond}}, true)
	tn.transfer(t, 1000)
	dropped := 0
	tn.drop = func(tc wire.TCP) bool {
		if tc.Flags() == wire.FlagSYN && len(tc.Payload()) > 0 && dropped == 0 {
			dropped++
			return true
		}
		return false
	}
	p := tn.transfer(t, 50<<10)
	if dropped != 1 || tn.syns[1].payload != 0 || !tn.syns[1].mpc {
		t.Fatalf("dropped %d, SYNs %+v", dropped, tn.syns)
	}
	if p.C.Conn.FellBack() {
		t.Fatal("fell back to TCP")
	}
	if st := tn.CS.TCP().Stats(); st.FastOpenActiveFail != 1 {
		t.Fatalf("FastOpenActiveFail %d, want 1", st.FastOpenActiveFail)
	}
}

// TestFastOpenMPTCPServerWithout: the server's listener takes no SYN
// data; the client, holding a cookie from another listener at the same
// address, sends it again with a mapping.
func TestFastOpenMPTCPServerWithout(t *testing.T) {
	tn := newTFONet(t, []Path{{Rate: 20e6, Delay: 10 * time.Millisecond}}, true)
	tn.transfer(t, 1000)
	tn.ln.SetFastOpen(0)
	p := tn.transfer(t, 20<<10)
	if tn.syns[0].payload == 0 || tn.syns[1].fastOpen {
		t.Fatalf("SYNs %+v: want data in the SYN and no cookie back", tn.syns)
	}
	if p.C.Conn.FellBack() {
		t.Fatal("fell back to TCP")
	}
	if st := tn.SS.TCP().Stats(); st.FastOpenPassive != 0 {
		t.Fatalf("server took SYN data: FastOpenPassive %d", st.FastOpenPassive)
	}
}

// TestFastOpenMPTCPWrongCookie: the server's key changed twice: the
// cookie is wrong, the SYN/ACK brings a fresh one, the data is sent again
// with a mapping, and the next connection is 0-RTT.
func TestFastOpenMPTCPWrongCookie(t *testing.T) {
	tn := newTFONet(t, []Path{{Rate: 20e6, Delay: 10 * time.Millisecond}}, true)
	tn.transfer(t, 1000)
	tn.SS.TCP().SetFastOpenKey([16]byte{1})
	tn.SS.TCP().SetFastOpenKey([16]byte{2})
	tn.transfer(t, 20<<10)
	if tn.syns[0].payload == 0 || tn.syns[1].cookie == 0 {
		t.Fatalf("SYNs %+v: want data in the SYN and a fresh cookie back", tn.syns)
	}
	if st := tn.SS.TCP().Stats(); st.FastOpenPassiveFail != 1 || st.FastOpenPassive != 0 {
		t.Fatalf("server: passive fail %d, passive %d", st.FastOpenPassiveFail, st.FastOpenPassive)
	}
	tn.transfer(t, 20<<10)
	if st := tn.SS.TCP().Stats(); st.FastOpenPassive != 1 {
		t.Fatalf("fresh cookie not taken: passive %d", st.FastOpenPassive)
	}
}

// TestFastOpenPlainTCP: Fast Open on a connection that dials plain TCP
// through the MPTCP layer (DisableMPTCP).
func TestFastOpenPlainTCP(t *testing.T) {
	tn := newTFONet(t, []Path{{Rate: 20e6, Delay: 10 * time.Millisecond}}, true)
	tn.transfer(t, 1000)
	p := &Pair{}
	tn.next = p
	c, err := tn.CS.Dial(tn.Sim.Now(), netip.Addr{}, netip.AddrPortFrom(tn.ServerAddr, 80), core.ConnOptions{FastOpen: true, DisableMPTCP: true})
	if err != nil {
		t.Fatal(err)
	}
	p.C = &Endpoint{Conn: c, Host: tn.Client, Key: 1, PeerKey: 2, Send: 30 << 10}
	tn.syns = nil
	p.C.Attach(tn.Sim.Now())
	tn.RunUntilDone(p, 20*time.Second)
	if err := p.Check(30<<10, 5000); err != nil {
		t.Fatal(err)
	}
	if s := tn.syns[0]; s.mpc || s.payload == 0 {
		t.Fatalf("SYN %+v: want plain TCP with data", s)
	}
}
