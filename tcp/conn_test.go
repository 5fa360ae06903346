package tcp

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

func TestHandshakeAndTransfer(t *testing.T) {
	n := newTestNet(t, 5*time.Millisecond)
	a, b := n.pair(nil, nil)
	c, sc := n.connect(a, b, 80, nil)
	ca := newApp(c, 1, 1<<20)
	sa := newApp(sc, 1^0xff, 512<<10)
	ca.closeOnDone, sa.closeOnDone = true, true
	n.pumps = append(n.pumps, ca.pump, sa.pump)
	ok := n.runUntil(30*time.Second, func() bool { return ca.eof && sa.eof })
	if !ok {
		t.Fatalf("transfer incomplete: client got %d eof=%v, server got %d eof=%v; states %v %v",
			ca.got, ca.eof, sa.got, sa.eof, c.State(), sc.State())
	}
	checkApps(t, ca, sa)
	if sa.got != 1<<20 || ca.got != 512<<10 {
		t.Fatalf("got %d and %d bytes", sa.got, ca.got)
	}
	n.Advance(time.Second)
	// The client closed first? Both closed at about the same time; one
	// side ends in TIME-WAIT, the other CLOSED.
	if c.State() != StateTimeWait && c.State() != StateClosed {
		t.Errorf("client state %v", c.State())
	}
	if sc.State() != StateTimeWait && sc.State() != StateClosed {
		t.Errorf("server state %v", sc.State())
	}
	if c.Err() != nil || sc.Err() != nil {
		t.Errorf("errors: %v %v", c.Err(), sc.Err())
	}
	st := c.Info()
	if st.Retransmits != 0 || st.RTOs != 0 {
		t.Errorf("lossless run retransmitted: %+v", st)
	}
	if st.SRTT < 10*time.Millisecond || st.SRTT > 20*time.Millisecond {
		t.Errorf("srtt %v, want about 10ms", st.SRTT)
	}
}

func TestHalfClose(t *testing.T) {
	n := newTestNet(t, time.Millisecond)
	a, b := n.pair(nil, nil)
	c, sc := n.connect(a, b, 80, nil)
	// Client sends and half-closes; server keeps sending afterwards.
	ca := newApp(c, 7, 100<<10)
	ca.closeOnDone = true
	sa := newApp(sc, 7^0xff, 0)
	n.pumps = append(n.pumps, ca.pump, sa.pump)
	if !n.runUntil(10*time.Second, func() bool { return sa.eof }) {
		t.Fatal("server saw no EOF")
	}
	if c.State() != StateFinWait2 || sc.State() != StateCloseWait {
		t.Fatalf("states %v / %v, want FIN-WAIT-2 / CLOSE-WAIT", c.State(), sc.State())
	}
	sa.total = 300 << 10
	sa.closeOnDone = true
	if !n.runUntil(10*time.Second, func() bool { return ca.eof }) {
		t.Fatalf("client saw no EOF: got %d", ca.got)
	}
	checkApps(t, ca, sa)
	if ca.got != 300<<10 {
		t.Fatalf("client got %d", ca.got)
	}
	n.Advance(time.Second)
	if c.State() != StateTimeWait || sc.State() != StateClosed {
		t.Fatalf("states %v / %v, want TIME-WAIT / CLOSED", c.State(), sc.State())
	}
	if a.tw.len() != 1 {
		t.Fatalf("TIME-WAIT entries %d", a.tw.len())
	}
	n.Advance(61 * time.Second)
	if a.tw.len() != 0 {
		t.Fatalf("TIME-WAIT entry not expired")
	}
	if len(a.conns) != 0 || len(b.conns) != 0 {
		t.Fatalf("connections left: %d %d", len(a.conns), len(b.conns))
	}
}

func TestConnectionRefused(t *testing.T) {
	n := newTestNet(t, time.Millisecond)
	a, b := n.pair(nil, nil)
	c, err := a.Dial(n.now, ap(addrB, 81), nil)
	if err != nil {
		t.Fatal(err)
	}
	n.Advance(100 * time.Millisecond)
	if c.State() != StateClosed || !errors.Is(c.Err(), ErrConnectionRefused) {
		t.Fatalf("state %v err %v", c.State(), c.Err())
	}
	if b.Stats().OutRsts != 1 || b.Stats().NoPort != 1 {
		t.Fatalf("server stats %+v", b.Stats())
	}
	if _, err := c.Write([]byte("x")); err == nil {
		t.Fatal("write on refused connection succeeded")
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, ErrConnectionRefused) {
		t.Fatalf("read err %v", err)
	}
}

func TestSYNRetransmitBackoffAndTimeout(t *testing.T) {
	n := newTestNet(t, time.Millisecond)
	a, _ := n.pair(func(c *Config) { c.SYNRetries = 3 }, nil)
	var syns []time.Time
	n.drop = func(p []byte) bool {
		syns = append(syns, n.now)
		return true
	}
	c, err := a.Dial(n.now, ap(addrB, 80), nil)
	if err != nil {
		t.Fatal(err)
	}
	start := n.now
	n.Advance(30 * time.Second)
	if !errors.Is(c.Err(), ErrTimeout) {
		t.Fatalf("err %v", c.Err())
	}
	if len(syns) != 4 {
		t.Fatalf("%d SYNs, want 4", len(syns))
	}
	want := []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second}
	for i, s := range syns {
		if d := s.Sub(start); d != want[i] {
			t.Errorf("SYN %d at %v, want %v", i, d, want[i])
		}
	}
	var te interface{ Timeout() bool }
	if !errors.As(c.Err(), &te) || !te.Timeout() {
		t.Error("ErrTimeout is not a net.Error timeout")
	}
	if a.Stats().AttemptFails != 1 {
		t.Errorf("AttemptFails %d", a.Stats().AttemptFails)
	}
}

func TestSimultaneousOpen(t *testing.T) {
	n := newTestNet(t, 10*time.Millisecond)
	a, b := n.pair(nil, nil)
	c1, err := a.Dial(n.now, ap(addrB, 5000), &DialConfig{Local: ap(addrA, 6000)})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := b.Dial(n.now, ap(addrA, 6000), &DialConfig{Local: ap(addrB, 5000)})
	if err != nil {
		t.Fatal(err)
	}
	n.Advance(100 * time.Millisecond)
	if c1.State() != StateEstablished || c2.State() != StateEstablished {
		t.Fatalf("states %v %v", c1.State(), c2.State())
	}
	a1, a2 := newApp(c1, 3, 50000), newApp(c2, 3^0xff, 70000)
	a1.closeOnDone, a2.closeOnDone = true, true
	n.pumps = append(n.pumps, a1.pump, a2.pump)
	if !n.runUntil(5*time.Second, func() bool { return a1.eof && a2.eof }) {
		t.Fatalf("incomplete %d %d", a1.got, a2.got)
	}
	checkApps(t, a1, a2)
	if a1.got != 70000 || a2.got != 50000 {
		t.Fatalf("got %d %d", a1.got, a2.got)
	}
}

func TestIPv6(t *testing.T) {
	n := newTestNet(t, 2*time.Millisecond)
	a, b := n.pair(nil, nil)
	l, err := b.Listen(ap(addr6B, 443), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.Dial(n.now, ap(addr6B, 443), nil)
	if err != nil {
		t.Fatal(err)
	}
	var sc *Conn
	n.runUntil(time.Second, func() bool { sc, _ = l.Accept(); return sc != nil })
	if sc == nil {
		t.Fatal("no connection")
	}
	if c.MSS() != 1440 {
		t.Errorf("IPv6 MSS %d, want 1440", c.MSS())
	}
	ca, sa := newApp(c, 9, 200000), newApp(sc, 9^0xff, 0)
	ca.closeOnDone = true
	n.pumps = append(n.pumps, ca.pump, sa.pump)
	if !n.runUntil(5*time.Second, func() bool { return sa.eof }) {
		t.Fatal("incomplete")
	}
	checkApps(t, ca, sa)
}

func TestReadEOFAndClose(t *testing.T) {
	n := newTestNet(t, time.Millisecond)
	a, b := n.pair(nil, nil)
	c, sc := n.connect(a, b, 80, nil)
	c.Write([]byte("hello"))
	c.CloseWrite()
	n.Advance(50 * time.Millisecond)
	buf := make([]byte, 10)
	k, err := sc.Read(buf)
	if k != 5 || err != nil || string(buf[:5]) != "hello" {
		t.Fatalf("read %d %v %q", k, err, buf[:k])
	}
	if _, err := sc.Read(buf); err != io.EOF {
		t.Fatalf("read err %v, want EOF", err)
	}
	sc.Close()
	n.Advance(50 * time.Millisecond)
	if sc.State() != StateClosed || c.State() != StateTimeWait {
		t.Fatalf("states %v %v", sc.State(), c.State())
	}
	if _, err := sc.Write([]byte("x")); err == nil {
		t.Fatal("write after close")
	}
}

func TestCloseWithLostFINsAndACK(t *testing.T) {
	n := newTestNet(t, 5*time.Millisecond)
	a, b := n.pair(nil, nil)
	c, sc := n.connect(a, b, 80, nil)
	droppedFIN := map[bool]bool{}
	droppedLastACK := false
	n.drop = func(p []byte) bool {
		l, _, f, fromA := dataSeg(p)
		if f&wire.FlagFIN != 0 && !droppedFIN[fromA] {
			droppedFIN[fromA] = true
			return true
		}
		// The client's ACK of the server's FIN, once.
		if fromA && l == 0 && f == wire.FlagACK && sc.State() == StateLastAck && !droppedLastACK {
			droppedLastACK = true
			return true
		}
		return false
	}
	c.Write([]byte("bye"))
	c.Close()
	if !n.runUntil(5*time.Second, func() bool { return sc.State() == StateCloseWait }) {
		t.Fatalf("server state %v", sc.State())
	}
	buf := make([]byte, 10)
	if k, _ := sc.Read(buf); k != 3 {
		t.Fatalf("read %d", k)
	}
	sc.Close()
	n.Advance(10 * time.Second)
	if !droppedFIN[true] || !droppedFIN[false] || !droppedLastACK {
		t.Fatalf("drops: FIN %v, last ACK %v", droppedFIN, droppedLastACK)
	}
	if c.State() != StateTimeWait || sc.State() != StateClosed || sc.Err() != nil || c.Err() != nil {
		t.Fatalf("states %v (%v) / %v (%v)", c.State(), c.Err(), sc.State(), sc.Err())
	}
}

func TestSequenceWraparound(t *testing.T) {
	n := newTestNet(t, 2*time.Millisecond)
	n.rate = 50e6 / 8
	a, b := n.pair(nil, nil)
	l, _ := b.Listen(ap(addrB, 80), nil)
	c, _ := a.Dial(n.now, ap(addrB, 80), nil)
	// ISNs just below 2^32, on both sides, before the SYN and SYN/ACK go.
	c.iss = 0xffffff00
	c.tsOffset = 0xfffffff0 // timestamps wrap too
	n.pumps = append(n.pumps, func() {
		for _, x := range b.conns {
			if x.state == StateSynReceived && x.synAt == 0 {
				x.iss = 0xfffff000
				x.tsOffset = 0xffffff00
			}
		}
	})
	var sc *Conn
	n.runUntil(time.Second, func() bool { sc, _ = l.Accept(); return sc != nil })
	if sc == nil {
		t.Fatal("no connection")
	}
	drops := 0
	n.drop = func(p []byte) bool {
		if l, _, _, _ := dataSeg(p); l > 0 {
			drops++
			return drops%50 == 0
		}
		return false
	}
	ca, sa := newApp(c, 21, 3<<20), newApp(sc, 21^0xff, 2<<20)
	ca.closeOnDone, sa.closeOnDone = true, true
	n.pumps = append(n.pumps, ca.pump, sa.pump)
	if !n.runUntil(60*time.Second, func() bool { return ca.eof && sa.eof }) {
		t.Fatalf("incomplete: %d %d", ca.got, sa.got)
	}
	checkApps(t, ca, sa)
	if c.sndWire(c.sndNxt) > 0x10000000 || sc.sndWire(sc.sndNxt) > 0x10000000 {
		t.Fatalf("sequence numbers did not wrap: %x %x", c.sndWire(c.sndNxt), sc.sndWire(sc.sndNxt))
	}
	if c.Info().Retransmits == 0 {
		t.Fatal("no loss recovery across the wrap")
	}
}
