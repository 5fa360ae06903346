package simtest

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/netsim/middlebox"
	"github.com/mptcp-go/mptcp/wire"
)

// attacker sits on the client's first path, sees both directions, and
// forges MPTCP signalling toward the server: an MP_JOIN with an unknown
// token, an MP_JOIN with the right token (read from the SYN/ACK) whose
// third ACK carries a wrong HMAC, and an ADD_ADDR with a wrong HMAC on the
// established subflow.
type attacker struct {
	toServer   func([]byte)
	serverKey  uint64
	haveKey    bool
	launched   bool
	forgedPort uint16
	buf        []byte
	opts       wire.TCPOptions
}

func (a *attacker) out(now time.Time, pkt []byte, emit func([]byte)) {
	a.toServer = emit
	emit(pkt)
	src, dst, _, payload, err := wire.ParseIP(pkt)
	if err != nil {
		return
	}
	t, err := wire.ParseTCP(payload)
	if err != nil || a.launched || !a.haveKey || len(t.Payload()) == 0 {
		return
	}
	a.launched = true
	_ = wire.ParseTCPOptions(t.Options(), t.Flags(), &a.opts)
	// 1. A join naming no connection.
	a.syn(src, dst, 6001, 0xdeadbeef)
	// 2. A join with the real token; its third ACK comes when the
	// SYN/ACK does.
	a.forgedPort = 6002
	a.syn(src, dst, a.forgedPort, wire.KeyToken(a.serverKey))
	// 3. An ADD_ADDR on the live subflow, with a made-up HMAC.
	var b wire.OptionBuilder
	if a.opts.HasTimestamps {
		_ = b.AddTimestamps(a.opts.TSVal, a.opts.TSEcr)
	}
	_ = b.AddAddAddr(&wire.AddAddr{AddrID: 9, Addr: netip.MustParseAddr("10.66.0.1"), HMAC: 0x0123456789abcdef})
	f := wire.TCPFields{SrcPort: t.SrcPort(), DstPort: t.DstPort(), Seq: t.Seq() + uint32(len(t.Payload())), Ack: t.Ack(),
		Flags: wire.FlagACK, Window: t.Window()}
	a.buf = wire.AppendTCPPacket(a.buf[:0], src, dst, &f, b.Bytes(), nil)
	emit(a.buf)
}

func (a *attacker) syn(src, dst netip.Addr, port uint16, token uint32) {
	var b wire.OptionBuilder
	_ = b.AddMSS(1400)
	_ = b.AddMPJoin(&wire.MPJoin{Form: wire.MPJoinSYN, AddrID: 5, Token: token, Nonce: 42})
	f := wire.TCPFields{SrcPort: port, DstPort: 80, Seq: 1000, Flags: wire.FlagSYN, Window: 65535}
	a.buf = wire.AppendTCPPacket(a.buf[:0], src, dst, &f, b.Bytes(), nil)
	a.toServer(a.buf)
}

func (a *attacker) in(now time.Time, pkt []byte, emit func([]byte)) {
	src, dst, t, err := wire.ParseTCPPacket(pkt)
	if err != nil {
		emit(pkt)
		return
	}
	_ = wire.ParseTCPOptions(t.Options(), t.Flags(), &a.opts)
	mp := &a.opts.MPTCP
	if mp.Has(wire.SubtypeMPCapable) && mp.Capable.Form == wire.MPCapableSYNACK {
		a.serverKey, a.haveKey = mp.Capable.SenderKey, true
	}
	if a.forgedPort != 0 && t.DstPort() == a.forgedPort && t.Flags().Has(wire.FlagSYN|wire.FlagACK) {
		// Complete the forged join with a wrong HMAC.
		var b wire.OptionBuilder
		_ = b.AddMPJoin(&wire.MPJoin{Form: wire.MPJoinACK, HMAC: [20]byte{1, 2, 3}})
		f := wire.TCPFields{SrcPort: a.forgedPort, DstPort: 80, Seq: 1001, Ack: t.Seq() + 1, Flags: wire.FlagACK, Window: 65535}
		a.buf = wire.AppendTCPPacket(a.buf[:0], dst, src, &f, b.Bytes(), nil)
		a.toServer(a.buf)
		return // the client never sees it
	}
	emit(pkt)
}

func TestForgedSignalling(t *testing.T) {
	n, err := NewNet(90, twoPaths(1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := &attacker{}
	n.PathLinks[0].AB().AddProcessor(processorFunc(a.out))
	n.PathLinks[0].BA().AddProcessor(processorFunc(a.in))
	const up, down = 1 << 20, 1 << 20
	p := transferOK(t, n, up, down, core.ConnOptions{}, 60*time.Second)
	sm := n.SS.MIB()
	for c, want := range map[core.Counter]uint64{
		core.MPJoinNoTokenFound:   1,
		core.MPJoinSynRx:          2,
		core.MPJoinAckHMacFailure: 1,
		core.MPJoinAckRx:          0,
		core.AddAddrHMacFailure:   1,
		core.AddAddr:              0,
		core.MPRstTx:              2,
	} {
		if got := sm.Get(c); got != want {
			t.Errorf("server %v = %d, want %d", c, got, want)
		}
	}
	if !a.launched {
		t.Fatal("the attack never ran")
	}
	if p.S.Conn.FellBack() {
		t.Errorf("the forgeries made the connection fall back")
	}
	for _, s := range p.S.Conn.Info().ClosedSubflows {
		if s.Join && s.BytesReceived+s.BytesSent > 0 {
			t.Errorf("forged subflow %v carried data", s.Remote)
		}
	}
}

// TestJoinSynAckBadHMAC corrupts the HMAC of the server's MP_JOIN
// SYN/ACKs on the second path: the client refuses the join each time and
// the connection keeps working on the first path.
func TestJoinSynAckBadHMAC(t *testing.T) {
	n, err := NewNet(91, twoPaths(2), Options{})
	if err != nil {
		t.Fatal(err)
	}
	n.PathLinks[1].BA().AddProcessor(processorFunc(func(now time.Time, pkt []byte, emit func([]byte)) {
		var s middlebox.Segment
		var o wire.TCPOptions
		_ = s
		src, dst, _, payload, err := wire.ParseIP(pkt)
		if err == nil {
			if tcpSeg, err := wire.ParseTCP(payload); err == nil && tcpSeg.Flags().Has(wire.FlagSYN|wire.FlagACK) {
				_ = wire.ParseTCPOptions(tcpSeg.Options(), tcpSeg.Flags(), &o)
				if o.MPTCP.Has(wire.SubtypeMPJoin) {
					opts := tcpSeg.Options()
					for i := 0; i+16 <= len(opts); i++ {
						if opts[i] == wire.OptMPTCP && opts[i+1] == wire.MPJoinSYNACKLen {
							binary.BigEndian.PutUint32(opts[i+4:], binary.BigEndian.Uint32(opts[i+4:])^0xffffffff)
						}
					}
					tcpSeg.SetChecksum(tcpSeg.ComputeChecksum(src, dst))
				}
			}
		}
		emit(pkt)
	}))
	const down = 2 << 20
	transferOK(t, n, 0, down, core.ConnOptions{}, 60*time.Second)
	cm := n.CS.MIB()
	if cm.Get(core.MPJoinSynAckHMacFailure) == 0 || cm.Get(core.MPRstTx) == 0 {
		t.Errorf("MPJoinSynAckHMacFailure %d, MPRstTx %d", cm.Get(core.MPJoinSynAckHMacFailure), cm.Get(core.MPRstTx))
	}
	if n.SS.MIB().Get(core.MPJoinAckRx) != 0 {
		t.Errorf("a join with a bad SYN/ACK HMAC was completed")
	}
}

// processorFunc adapts a function to netsim.Processor.
type processorFunc func(now time.Time, pkt []byte, emit func([]byte))

func (f processorFunc) Process(now time.Time, pkt []byte, emit func([]byte)) { f(now, pkt, emit) }
