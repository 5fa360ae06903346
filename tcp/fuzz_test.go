package tcp

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

// fuzzStates are the states FuzzConnSegments drives a connection into
// before feeding it arbitrary segments.
var fuzzStates = []func(n *testNet, a, b *Stack) *Conn{
	// SYN-SENT: the SYN goes nowhere.
	func(n *testNet, a, b *Stack) *Conn {
		n.drop = func([]byte) bool { return true }
		c, _ := a.Dial(n.now, ap(addrB, 80), nil)
		n.Advance(time.Millisecond)
		return c
	},
	// ESTABLISHED, with data both ways in flight.
	func(n *testNet, a, b *Stack) *Conn {
		c, sc := n.connect(a, b, 80, nil)
		c.Write(make([]byte, 30000))
		peer := make([]byte, 1000)
		for i := range peer {
			peer[i] = pattern(77, uint64(i))
		}
		sc.Write(peer)
		n.Advance(time.Millisecond)
		n.drop = func([]byte) bool { return true }
		return c
	},
	// FIN-WAIT-1 with data unacknowledged.
	func(n *testNet, a, b *Stack) *Conn {
		c, _ := n.connect(a, b, 80, nil)
		n.drop = func([]byte) bool { return true }
		c.Write(make([]byte, 5000))
		c.CloseWrite()
		n.Advance(time.Millisecond)
		return c
	},
	// CLOSE-WAIT.
	func(n *testNet, a, b *Stack) *Conn {
		c, sc := n.connect(a, b, 80, nil)
		sc.CloseWrite()
		n.Advance(10 * time.Millisecond)
		n.drop = func([]byte) bool { return true }
		return c
	},
	// SYN-RECEIVED (passive): b's view of a's SYN.
	func(n *testNet, a, b *Stack) *Conn {
		b.Listen(ap(addrB, 80), nil)
		n.drop = func(p []byte) bool {
			_, _, f := hdr(p)
			return f&wire.FlagACK != 0 // the SYN passes, the rest not
		}
		a.Dial(n.now, ap(addrB, 80), &DialConfig{Local: ap(addrA, 999)})
		n.Advance(2 * time.Millisecond)
		for _, c := range b.conns {
			return c
		}
		return nil
	},
}

// FuzzConnSegments feeds arbitrary segments to a connection in each state
// and checks that the engine neither panics nor delivers a wrong byte: the
// payload of every fuzzed segment is the peer's stream at the segment's
// sequence number, so whatever is read must match the stream.
//
//	go test ./tcp -run '^$' -fuzz FuzzConnSegments -fuzztime 60s
func FuzzConnSegments(f *testing.F) {
	f.Add([]byte{1, 0x10, 0, 0, 0, 0, 0, 100, 0, 10, 0, 1})
	f.Add([]byte{1, 0x18, 0, 10, 0, 0, 1, 0, 2, 0, 0, 2, 0x11, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0})
	f.Add([]byte{0, 0x12, 0, 0, 0, 1, 1, 0, 0, 0, 0x7f, 3})
	f.Add([]byte{2, 0x11, 0xff, 0xf0, 0, 0, 0, 5, 0, 0, 9, 9, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{4, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 1 {
			return
		}
		n := newTestNet(t, time.Millisecond)
		var tweak func(*Config)
		if data[0]&0x80 != 0 {
			tweak = func(c *Config) { c.DisableSACK = true }
		}
		a, b := n.pair(tweak, tweak)
		c := fuzzStates[int(data[0]&0x7f)%len(fuzzStates)](n, a, b)
		if c == nil {
			return
		}
		s := c.stack
		peerISN := c.irs
		if c.state == StateSynSent {
			peerISN = 0x10000000
		}
		var read uint64
		buf := make([]byte, 4096)
		data = data[1:]
		for len(data) >= 11 {
			flags := wire.TCPFlags(data[0])
			seqDelta := int32(int16(binary.BigEndian.Uint16(data[1:])))
			ackDelta := int32(int16(binary.BigEndian.Uint16(data[3:])))
			wnd := binary.BigEndian.Uint16(data[5:])
			plen := int(binary.BigEndian.Uint16(data[7:]) % 3000)
			optSel := data[9]
			adv := time.Duration(data[10]) * time.Millisecond
			data = data[11:]

			rcvNxt := peerISN + 1
			if c.state != StateSynSent {
				rcvNxt = c.rcvWire(c.rcvNxt())
			}
			seq := rcvNxt + uint32(seqDelta)
			ack := c.sndWire(c.sndUna) + uint32(ackDelta)
			off := seq - peerISN - 1
			if flags&wire.FlagSYN != 0 {
				off++
			}
			payload := make([]byte, plen)
			for i := range payload {
				payload[i] = pattern(77, uint64(off+uint32(i)))
			}
			opts := func(o *wire.OptionBuilder) {
				if optSel&1 != 0 {
					o.AddTimestamps(c.tsRecent+uint32(optSel>>4)-4, c.tsvalAt(s.now))
				}
				if optSel&2 != 0 {
					o.AddSACK([]wire.SACKBlock{{Left: ack + uint32(optSel)*100, Right: ack + uint32(optSel)*300}})
				}
				if optSel&4 != 0 {
					o.AddMSS(uint16(optSel) * 8)
					o.AddWindowScale(optSel >> 4)
				}
				if optSel&8 != 0 {
					o.AddSACKPermitted()
				}
			}
			s.Deliver(n.now, craft(c.RemoteAddr(), c.LocalAddr(), seq, ack, flags, wnd, opts, payload))
			s.Poll(n.now, func([]byte) {})
			n.now = n.now.Add(adv)
			s.Poll(n.now, func([]byte) {})
			checkInvariants(t, c)
			if optSel&0x80 != 0 {
				for {
					k, _ := c.Read(buf)
					for i := range k {
						if buf[i] != pattern(77, read+uint64(i)) {
							t.Fatalf("wrong byte at stream offset %d", read+uint64(i))
						}
					}
					read += uint64(k)
					if k == 0 {
						break
					}
				}
			}
			if optSel == 0x42 {
				c.Close()
			}
			if optSel&0x60 == 0x60 {
				// An ICMP error about one of our segments: too big (MTU
				// from the window field) or unreachable.
				ours := craft(c.LocalAddr(), c.RemoteAddr(), c.sndWire(c.sndUna)+uint32(ackDelta&0xff), 0, wire.FlagACK, 0, nil, nil)
				code := uint8(wire.ICMPv4FragmentationNeeded)
				if optSel&0x10 != 0 {
					code = wire.ICMPv4PortUnreachable
				}
				s.Deliver(n.now, icmpAbout(ours, wire.ICMPv4DestUnreachable, code, uint32(wnd)))
				s.Poll(n.now, func([]byte) {})
				checkInvariants(t, c)
			}
		}
	})
}

// checkInvariants checks the scoreboard and buffers after each segment.
func checkInvariants(t *testing.T, c *Conn) {
	t.Helper()
	q := &c.txq
	if q.sacked < 0 || q.lost < 0 || q.retrans < 0 || c.inflight() < 0 {
		t.Fatalf("negative counters: sacked %d lost %d retrans %d", q.sacked, q.lost, q.retrans)
	}
	if c.sndUna > c.sndNxt {
		t.Fatalf("snd.una %d > snd.nxt %d", c.sndUna, c.sndNxt)
	}
	if c.rb.head > c.rb.nxt {
		t.Fatalf("read head %d past rcv.nxt %d", c.rb.head, c.rb.nxt)
	}
	if c.state == StateClosed || c.state == StateTimeWait {
		return
	}
	var sacked int
	for i := q.head; i < q.tail(); i++ {
		sg := q.at(i)
		if sg.start >= sg.end || (i > q.head && q.at(i-1).end != sg.start) {
			t.Fatalf("scoreboard segment %d: [%d,%d)", i, sg.start, sg.end)
		}
		if sg.has(segSACKed) {
			sacked += int(sg.end - sg.start)
		}
	}
	if sacked != q.sacked {
		t.Fatalf("SACKed bytes %d, counter %d", sacked, q.sacked)
	}
	if !q.empty() && (q.at(q.head).start != c.sndUna && c.state.synchronized()) {
		t.Fatalf("scoreboard starts at %d, snd.una %d", q.at(q.head).start, c.sndUna)
	}
}
