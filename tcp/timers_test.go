package tcp

import (
	"errors"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

func TestZeroWindowProbing(t *testing.T) {
	n := newTestNet(t, 5*time.Millisecond)
	small := func(c *Config) { c.ReceiveBuffer = 16 << 10; c.DisableAutoTune = true }
	a, b := n.pair(nil, small)
	c, sc := n.connect(a, b, 80, nil)
	ca := newApp(c, 8, 200000)
	n.pumps = append(n.pumps, ca.pump)
	// The server application does not read: the window closes.
	n.Advance(time.Second)
	// (The window is announced in units of 1<<rcvShift, rounded up so as
	// never to shrink: the buffer may take up to one unit more.)
	if c.sndWnd != 0 || sc.Readable() < 16<<10 || sc.Readable() >= 16<<10+1<<sc.rcvShift {
		t.Fatalf("window %d, server buffered %d", c.sndWnd, sc.Readable())
	}
	// Ten minutes of zero window: probes go out, with backoff, and the
	// connection survives because the peer answers them.
	n.Advance(10 * time.Minute)
	st := c.Info()
	if c.State() != StateEstablished || st.ZeroWindowProbe < 5 || st.ZeroWindowProbe > 30 {
		t.Fatalf("state %v after 10 min, %d probes", c.State(), st.ZeroWindowProbe)
	}
	// The application reads again: the window reopens and the transfer
	// completes.
	sa := newApp(sc, 8^0xff, 0)
	n.pumps = append(n.pumps, sa.pump)
	if !n.runUntil(30*time.Second, func() bool { return sa.got == 200000 }) {
		t.Fatalf("after reopening got %d", sa.got)
	}
	checkApps(t, ca, sa)
}

func TestKeepalive(t *testing.T) {
	n := newTestNet(t, 5*time.Millisecond)
	ka := func(c *Config) { c.KeepAlive = KeepAlive{Idle: 10 * time.Second, Interval: 2 * time.Second, Count: 3} }
	a, b := n.pair(ka, nil)
	c, _ := n.connect(a, b, 80, nil)
	n.Advance(time.Minute)
	if c.State() != StateEstablished || c.Info().KeepaliveProbes < 4 {
		t.Fatalf("state %v, probes %d", c.State(), c.Info().KeepaliveProbes)
	}
	// The peer vanishes.
	n.drop = func([]byte) bool { return true }
	probes := c.Info().KeepaliveProbes
	n.Advance(20 * time.Second)
	if !errors.Is(c.Err(), ErrTimeout) {
		t.Fatalf("err %v", c.Err())
	}
	if got := c.Info().KeepaliveProbes - probes; got != 3 {
		t.Fatalf("%d probes before giving up", got)
	}
}

func TestCloseWithUnreadDataResets(t *testing.T) {
	n, _, _, c, sc := established(t, nil)
	c.Write([]byte("unread"))
	n.Advance(20 * time.Millisecond)
	sc.Close()
	n.Advance(20 * time.Millisecond)
	if !errors.Is(c.Err(), ErrConnectionReset) {
		t.Fatalf("client err %v", c.Err())
	}
	if sc.Info().ResetsOnClose != 1 {
		t.Fatal("not counted")
	}
}

func TestDataAfterCloseResets(t *testing.T) {
	n, a, b, c, sc := established(t, nil)
	c.Close() // FIN-WAIT; the server keeps sending
	n.Advance(20 * time.Millisecond)
	if c.State() != StateFinWait2 {
		t.Fatalf("state %v", c.State())
	}
	sc.Write([]byte("too late"))
	n.Advance(20 * time.Millisecond)
	if !errors.Is(sc.Err(), ErrConnectionReset) || a.Stats().AbortOnData != 1 {
		t.Fatalf("server err %v, abort on data %d", sc.Err(), a.Stats().AbortOnData)
	}
	_ = b
}

func TestFinWait2Timeout(t *testing.T) {
	n, a, _, c, sc := established(t, func(c *Config) { c.FinTimeout = 5 * time.Second })
	c.Close()
	n.Advance(time.Second)
	if c.State() != StateFinWait2 || sc.State() != StateCloseWait {
		t.Fatalf("states %v %v", c.State(), sc.State())
	}
	n.Advance(5 * time.Second)
	if c.State() != StateClosed || len(a.conns) != 0 {
		t.Fatalf("state %v, conns %d", c.State(), len(a.conns))
	}
}

func TestDelayedACK(t *testing.T) {
	n, _, _, c, sc := established(t, nil)
	var acks []time.Time
	n.tap = func(p []byte) {
		if l, _, f, fromA := dataSeg(p); !fromA && l == 0 && f == wire.FlagACK {
			acks = append(acks, n.now)
		}
	}
	// Past the quick-ACK start, one small segment waits for the timer.
	sc.quickAcks = 0
	start := n.now
	c.Write([]byte("ping"))
	n.Advance(100 * time.Millisecond)
	if len(acks) != 1 {
		t.Fatalf("%d ACKs", len(acks))
	}
	if d := acks[0].Sub(start); d < 40*time.Millisecond || d > 42*time.Millisecond {
		t.Fatalf("delayed ACK after %v", d)
	}
	// Two full segments are acknowledged at once.
	acks = nil
	start = n.now
	c.Write(make([]byte, 2*1448))
	n.Advance(100 * time.Millisecond)
	if len(acks) != 1 || acks[0].Sub(start) > 5*time.Millisecond {
		t.Fatalf("ACKs %v after %v", len(acks), acks)
	}
}

func TestReceiveBufferAutoTuning(t *testing.T) {
	n := newTestNet(t, 25*time.Millisecond)
	n.rate = 100e6 / 8
	a, b := n.pair(nil, nil)
	c, sc := bulk(t, n, a, b, 20<<20, 60*time.Second)
	st := sc.Info()
	// 100 Mbit/s * 50 ms = 625 kB in flight: the buffer must have grown
	// well past its 128 KiB start, and stayed within its maximum.
	if st.ReceiveBuffer < 1<<20 || st.ReceiveBuffer > 6<<20 {
		t.Fatalf("receive buffer %d", st.ReceiveBuffer)
	}
	t.Logf("receive buffer %d, client %+v", st.ReceiveBuffer, c.Info())
}

// TestPersistArmedByWrite checks that data written while the peer's
// window is closed and nothing is in flight arms the persist timer: the
// window closed exactly when the sender ran out of data, so no probe was
// due then, and the peer's window update was lost. Without the timer the
// sender waited for ever (an MPTCP subflow did, given data by the
// connection while its window showed zero).
func TestPersistArmedByWrite(t *testing.T) {
	n := newTestNet(t, 5*time.Millisecond)
	small := func(c *Config) { c.ReceiveBuffer = 16 << 10; c.DisableAutoTune = true }
	a, b := n.pair(nil, small)
	c, sc := n.connect(a, b, 80, nil)
	// Exactly what the window takes (the server does not read yet): as
	// much as it shows, until it shows nothing.
	ca := newApp(c, 8, 0)
	n.pumps = append(n.pumps, ca.pump)
	for i := 0; i < 5 && c.sndWnd > 0; i++ {
		ca.total += int(c.sndWnd)
		n.Advance(time.Second)
	}
	if c.sndWnd != 0 || c.Unsent() != 0 || c.sndUna != c.sndNxt || c.persistAt != 0 {
		t.Fatalf("window %d, unsent %d, in flight %d, persist at %v: want a closed window and nothing to send",
			c.sndWnd, c.Unsent(), c.sndNxt-c.sndUna, c.persistAt)
	}
	// The server reads everything; its window update is lost.
	n.drop = func(p []byte) bool { _, _, _, fromA := dataSeg(p); return !fromA }
	sa := newApp(sc, 8^0xff, 0)
	n.pumps = append(n.pumps, sa.pump)
	n.Advance(100 * time.Millisecond)
	n.drop = nil
	// More to send: only a probe can learn that the window opened.
	ca.total = 100000
	if !n.runUntil(30*time.Second, func() bool { return sa.got == ca.total }) {
		t.Fatalf("got %d of %d; zero-window probes %d", sa.got, ca.total, c.Info().ZeroWindowProbe)
	}
	if c.Info().ZeroWindowProbe == 0 {
		t.Fatal("the transfer resumed without a probe: the window update was not lost")
	}
	checkApps(t, ca, sa)
}
