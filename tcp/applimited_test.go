package tcp

import (
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/cc"
)

// oddWindowCC is NewReno with an initial window of ten and a half
// segments, so that filling it with whole segments leaves half a segment
// of room, as a coupled controller's fractional growth does.
const oddWindowCC = "test-reno-odd-window"

func init() {
	cc.Register(oddWindowCC, func(p cc.Params) (cc.Controller, error) {
		p.InitialWindow = 10*p.MSS + p.MSS/2
		return cc.New("reno", p)
	})
}

// segmentFiller writes, whenever polled, as many whole segments as the
// congestion window has room for, as the MPTCP scheduler does for a
// subflow: the window is never filled to the byte.
type segmentFiller struct {
	c       *Conn
	buf     []byte
	written int
}

func (f *segmentFiller) pump() {
	c := f.c
	if c.State() != StateEstablished {
		return
	}
	seg := c.PayloadMSS()
	room := c.Cwnd() - c.InFlight() - c.Unsent()
	n := min(room-room%seg, len(f.buf))
	if n <= 0 {
		return
	}
	w, err := c.WriteRecord(f.buf[:n])
	if err == nil {
		f.written += w
	}
}

// A sender that keeps its window full to the last whole segment is limited
// by the window, not by the application: less than a segment of room left
// unused must not stop the window from growing.
func TestWholeSegmentsFillTheWindow(t *testing.T) {
	n := newTestNet(t, 10*time.Millisecond)
	a, b := n.pair(nil, nil)
	dh := &drainHooks{window: 16 << 20}
	if _, err := b.Listen(ap(addrB, 80), &ListenConfig{Hooks: &listenHooksFor{h: dh}}); err != nil {
		t.Fatal(err)
	}
	c, err := a.Dial(n.now, ap(addrB, 80), &DialConfig{Options: Options{CongestionControl: oddWindowCC}})
	if err != nil {
		t.Fatal(err)
	}
	f := &segmentFiller{c: c, buf: make([]byte, 1<<20)}
	n.pumps = append(n.pumps, f.pump)
	n.Advance(30 * time.Millisecond)
	if c.State() != StateEstablished {
		t.Fatal("not established")
	}
	initial := c.Cwnd()
	// Ten round trips of slow start without loss.
	n.Advance(200 * time.Millisecond)
	if got := c.Cwnd(); got < 8*initial {
		t.Fatalf("window %d after ten round trips from %d, sent %d bytes: the sender was taken for application-limited", got, initial, f.written)
	}
	t.Logf("window %d from %d, %d bytes written", c.Cwnd(), initial, f.written)
}

// SentAt tells when a byte of the stream was last transmitted while it
// awaits acknowledgment: not before it is sent, the time of its
// retransmission after a loss, and nothing once acknowledged.
func TestSentAt(t *testing.T) {
	n := newTestNet(t, 10*time.Millisecond)
	a, b := n.pair(nil, nil)
	c, _ := n.connect(a, b, 80, nil)
	if _, ok := c.SentAt(0); ok {
		t.Fatal("SentAt of a byte not written yet says it was sent")
	}
	dropped := false
	n.drop = func([]byte) bool { // the next packet: the data segment
		drop := !dropped
		dropped = true
		return drop
	}
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	n.Advance(time.Millisecond)
	sent := n.now.Add(-time.Millisecond)
	at, ok := c.SentAt(4)
	if !ok || at.Before(sent) || at.After(n.now) {
		t.Fatalf("SentAt(4) = %v, %v just after the write at %v", at, ok, sent)
	}
	if _, ok := c.SentAt(5); ok {
		t.Fatal("SentAt past the written bytes says sent")
	}
	// The loss is repaired by a retransmission; then all is acknowledged.
	var again time.Time
	n.runUntil(5*time.Second, func() bool {
		if at2, ok := c.SentAt(0); ok && at2.After(at) {
			again = at2
		}
		return c.InFlight() == 0 && c.Unacked() == 0
	})
	if again.IsZero() {
		t.Error("SentAt never showed the retransmission's time")
	}
	if _, ok := c.SentAt(0); ok {
		t.Error("SentAt of an acknowledged byte says it awaits acknowledgment")
	}
}
