package netsim

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A multihomed host sends each packet by the interface that owns its
// source, counts packets from addresses it does not own, and drops (and
// counts) packets for addresses it does not own.
func TestHostSourceSelectionAndDrops(t *testing.T) {
	s := New(1)
	h := must(s.NewHost("h"))
	p1 := must(s.NewHost("p1"))
	p2 := must(s.NewHost("p2"))
	h1 := must(h.AddInterface("wifi", netip.MustParsePrefix("10.1.0.2/24")))
	h2 := must(h.AddInterface("lte", netip.MustParsePrefix("10.2.0.2/24"), netip.MustParsePrefix("2001:db8:2::2/64")))
	i1 := must(p1.AddInterface("eth0", netip.MustParsePrefix("10.1.0.1/24")))
	i2 := must(p2.AddInterface("eth0", netip.MustParsePrefix("10.2.0.1/24")))
	must(s.Connect(h1, i1, PipeConfig{}))
	must(s.Connect(h2, i2, PipeConfig{}))
	for _, x := range []*Host{h, p1, p2} {
		x.SetStack(&testStack{})
	}
	far := netip.MustParseAddr("192.0.2.1")
	sendAt(s, h, 0,
		udpPacket(netip.MustParseAddr("10.1.0.2"), far, 1, 100),
		udpPacket(netip.MustParseAddr("10.2.0.2"), far, 2, 100),
		udpPacket(netip.MustParseAddr("2001:db8:2::2"), netip.MustParseAddr("2001:db8::1"), 3, 100),
		udpPacket(netip.MustParseAddr("10.3.0.2"), far, 4, 100), // not h's
		[]byte{0x45, 0, 0}, // malformed
	)
	// p1 sends to h's LTE address over the WiFi link: accepted (weak host
	// model); and to an address nobody has: undeliverable.
	sendAt(s, p1, time.Millisecond,
		udpPacket(netip.MustParseAddr("10.1.0.1"), netip.MustParseAddr("10.2.0.2"), 5, 100),
		udpPacket(netip.MustParseAddr("10.1.0.1"), netip.MustParseAddr("10.1.0.99"), 6, 100))
	s.Run()
	// p1 and p2 count the packets for 192.0.2.1 as undeliverable: they are
	// the far end of each link and own no such address.
	if st := p1.Stats(); st.Undeliverable != 1 || st.Delivered != 0 {
		t.Errorf("p1 stats %+v; want the packet from 10.1.0.2 undeliverable", st)
	}
	if st := p2.Stats(); st.Undeliverable != 2 {
		t.Errorf("p2 stats %+v; want 2 undeliverable (IPv4 and IPv6 from LTE)", st)
	}
	if st := h.Stats(); st.Sent != 3 || st.NoSource != 1 || st.Malformed != 1 || st.Delivered != 1 || st.Undeliverable != 1 {
		t.Errorf("h stats %+v; want 3 sent, 1 no source, 1 malformed, 1 delivered, 1 undeliverable", st)
	}
	if diff := cmp.Diff([]uint64{5}, stackOf(h).seqs()); diff != "" {
		t.Errorf("h got (-want +got):\n%s", diff)
	}
}

// pollLog records when it is polled and asks for the times it is told to.
type pollLog struct {
	at   []time.Duration
	want []time.Time // successive answers to Poll; zero after they run out
}

func (p *pollLog) Deliver(time.Time, []byte) {}

func (p *pollLog) Poll(now time.Time, send func([]byte)) time.Time {
	p.at = append(p.at, now.Sub(Epoch))
	if len(p.want) == 0 {
		return time.Time{}
	}
	next := p.want[0]
	p.want = p.want[1:]
	return next
}

// The host polls its stack when installed, at the times it asks for, and
// after Wake; a zero answer means no poll until something happens, and a
// later Wake or answer replaces an earlier request.
func TestHostPollScheduling(t *testing.T) {
	s := New(1)
	h := must(s.NewHost("h"))
	pl := &pollLog{want: []time.Time{Epoch.Add(10 * time.Millisecond), Epoch.Add(50 * time.Millisecond), {}}}
	s.After(time.Millisecond, func() { h.SetStack(pl) })
	// A Wake at 20 ms polls at once; that poll answers zero, which drops the
	// 50 ms request made at 10 ms.
	s.After(20*time.Millisecond, h.Wake)
	// Two Wakes at one instant give one poll.
	s.After(70*time.Millisecond, func() { h.Wake(); h.Wake() })
	s.Run()
	want := []time.Duration{ms(1), ms(10), ms(20), ms(70)}
	if diff := cmp.Diff(want, pl.at); diff != "" {
		t.Errorf("polls (-want +got):\n%s", diff)
	}
}
