package netsim_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/wire"
)

// pinger sends one packet when first polled and prints what comes back.
type pinger struct {
	src, dst netip.Addr
	sent     bool
}

func (p *pinger) Deliver(now time.Time, pkt []byte) {
	fmt.Printf("a: reply after %v\n", now.Sub(netsim.Epoch))
}

func (p *pinger) Poll(now time.Time, send func([]byte)) time.Time {
	if !p.sent {
		p.sent = true
		pkt := make([]byte, 1000)
		wire.EncodeIPv4(pkt, &wire.IPv4Fields{Protocol: 253, Src: p.src, Dst: p.dst}, len(pkt)-wire.IPv4MinHeaderLen)
		send(pkt)
	}
	return time.Time{}
}

// echo swaps the addresses of every packet it gets and sends it back.
type echo struct{ pending [][]byte }

func (e *echo) Deliver(now time.Time, pkt []byte) {
	r := append([]byte(nil), pkt...)
	h := wire.IPv4(r)
	src, dst := h.Src(), h.Dst()
	h.SetSrc(dst)
	h.SetDst(src)
	e.pending = append(e.pending, r)
}

func (e *echo) Poll(now time.Time, send func([]byte)) time.Time {
	for _, p := range e.pending {
		send(p)
	}
	e.pending = e.pending[:0]
	return time.Time{}
}

// Two hosts behind a router; the router's link to b is a slow bottleneck.
// 1000 bytes take 0.8 ms at 10 Mbit/s and 0.08 ms at 100 Mbit/s, so the
// round trip is 2 × (0.08 + 1 + 0.8 + 5) ms.
func Example() {
	s := netsim.New(1)
	a, _ := s.NewHost("a")
	b, _ := s.NewHost("b")
	r, _ := s.NewRouter("r")
	ia, _ := a.AddInterface("eth0", netip.MustParsePrefix("10.0.1.2/24"))
	ib, _ := b.AddInterface("eth0", netip.MustParsePrefix("10.0.2.2/24"))
	ra, _ := r.AddInterface("eth0", netip.MustParsePrefix("10.0.1.1/24"))
	rb, _ := r.AddInterface("eth1", netip.MustParsePrefix("10.0.2.1/24"))
	s.Connect(ia, ra, netsim.PipeConfig{Rate: 100e6, Delay: time.Millisecond})
	bottleneck, _ := s.Connect(rb, ib, netsim.PipeConfig{Rate: 10e6, Delay: 5 * time.Millisecond, QueueBytes: 64_000})

	a.SetStack(&pinger{src: ia.Addr(true), dst: ib.Addr(true)})
	b.SetStack(&echo{})
	s.Run()

	st := bottleneck.AB().Stats()
	fmt.Printf("bottleneck: %d sent, %d delivered; a: %d delivered\n", st.Sent, st.Delivered, a.Stats().Delivered)
	// Output:
	// a: reply after 13.76ms
	// bottleneck: 1 sent, 1 delivered; a: 1 delivered
}
