package netsim

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// dropEveryNth drops packets n, 2n, 3n, ... (1-based) and passes the rest.
type dropEveryNth struct {
	n, count int
}

func (d *dropEveryNth) Process(now time.Time, pkt []byte, emit func([]byte)) {
	d.count++
	if d.count%d.n != 0 {
		emit(pkt)
	}
}

func TestPipeMiddleboxDropsEveryNth(t *testing.T) {
	s, a, b, l := pair(t, 1, PipeConfig{}, PipeConfig{})
	l.AB().AddProcessor(&dropEveryNth{n: 3})
	for i := range 9 {
		sendAt(s, a, 0, udpPacket(addrA, addrB, uint64(i), 100))
	}
	s.Run()
	if diff := cmp.Diff([]uint64{0, 1, 3, 4, 6, 7}, stackOf(b).seqs()); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
	// The pipe counts what left the chain.
	if st := l.AB().Stats(); st.Sent != 6 {
		t.Errorf("Sent = %d, want 6", st.Sent)
	}
}

// A chain: the first processor duplicates, the second rewrites in place
// (bumps the sequence number), and a router processor sees the result.
func TestMiddleboxChainAndRouterHook(t *testing.T) {
	s, a, r, b := routed(t, 1, PipeConfig{}, PipeConfig{})
	ab := a.Interfaces()[0].Out()
	ab.AddProcessor(ProcessorFunc(func(now time.Time, pkt []byte, emit func([]byte)) {
		emit(pkt)
		emit(pkt)
	}))
	ab.AddProcessor(ProcessorFunc(func(now time.Time, pkt []byte, emit func([]byte)) {
		pkt[len(pkt)-1] ^= 0xff // rewrite in place; it is the chain's copy
		emit(pkt)
	}))
	var seenAt []time.Duration
	r.AddProcessor(ProcessorFunc(func(now time.Time, pkt []byte, emit func([]byte)) {
		seenAt = append(seenAt, now.Sub(Epoch))
		if packetSeq(pkt) != 2 {
			emit(pkt)
		}
	}))
	orig := udpPacket(addrA, addrB, 1, 100)
	keep := append([]byte(nil), orig...)
	stackOf(b).keep = true
	sendAt(s, a, time.Millisecond, orig, udpPacket(addrA, addrB, 2, 100))
	s.Run()
	if diff := cmp.Diff(keep, orig); diff != "" {
		t.Errorf("middlebox modified the stack's own buffer (-want +got):\n%s", diff)
	}
	got := stackOf(b).got
	if len(got) != 2 || got[0].seq != 1 || got[1].seq != 1 {
		t.Fatalf("b got %v, want packet 1 twice", stackOf(b).seqs())
	}
	if last := got[0].pkt[len(keep)-1]; last != keep[len(keep)-1]^0xff {
		t.Errorf("rewrite not applied: last byte %#x", last)
	}
	if len(seenAt) != 4 || seenAt[0] != time.Millisecond {
		t.Errorf("router processor saw %v, want 4 packets at 1ms", seenAt)
	}
}

// A processor may hold a packet and emit it later, from a timer.
func TestMiddleboxDelayedEmit(t *testing.T) {
	s, a, b, l := pair(t, 1, PipeConfig{}, PipeConfig{})
	var held []byte
	var emitLater func([]byte)
	tm := s.NewTimer(func() { emitLater(held) })
	l.AB().AddProcessor(ProcessorFunc(func(now time.Time, pkt []byte, emit func([]byte)) {
		held = append(held[:0], pkt...)
		emitLater = emit
		tm.ResetAfter(7 * time.Millisecond)
	}))
	sendAt(s, a, 0, udpPacket(addrA, addrB, 1, 100))
	s.Run()
	if got := stackOf(b).got; len(got) != 1 || got[0].at != 7*time.Millisecond {
		t.Errorf("got %+v, want packet 1 at 7ms", got)
	}
}
