package tcp

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

// dataSeg returns the payload length and sequence number of a TCP packet,
// and whether it is from a (the client address).
func dataSeg(p []byte) (n int, seq uint32, flags wire.TCPFlags, fromA bool) {
	src, _, _, pl, err := wire.ParseIP(p)
	if err != nil {
		return 0, 0, 0, false
	}
	t, err := wire.ParseTCP(pl)
	if err != nil {
		return 0, 0, 0, false
	}
	return len(t.Payload()), t.Seq(), t.Flags(), src == addrA || src == addr6A
}

// bulk runs a one-way transfer of size bytes from a to b and returns the
// client connection once the server has read everything.
func bulk(t *testing.T, n *testNet, a, b *Stack, size int, limit time.Duration) (*Conn, *Conn) {
	t.Helper()
	c, sc := n.connect(a, b, 80, nil)
	ca, sa := newApp(c, 5, size), newApp(sc, 5^0xff, 0)
	ca.closeOnDone = true
	n.pumps = append(n.pumps, ca.pump, sa.pump)
	if !n.runUntil(limit, func() bool { return sa.eof }) {
		t.Fatalf("transfer incomplete: %d of %d bytes; client %+v", sa.got, size, c.Info())
	}
	checkApps(t, ca, sa)
	if sa.got != size {
		t.Fatalf("got %d bytes, want %d", sa.got, size)
	}
	return c, sc
}

func TestIsolatedLossesRepairedWithoutRTO(t *testing.T) {
	n := newTestNet(t, 10*time.Millisecond)
	n.rate = 10e6 / 8
	a, b := n.pair(nil, nil)
	dataPkts := 0
	dropped := map[uint32]bool{}
	n.drop = func(p []byte) bool {
		l, seq, _, fromA := dataSeg(p)
		if !fromA || l == 0 {
			return false
		}
		dataPkts++
		if dataPkts%97 == 0 && !dropped[seq] {
			dropped[seq] = true
			return true
		}
		return false
	}
	c, _ := bulk(t, n, a, b, 4<<20, 60*time.Second)
	st := c.Info()
	t.Logf("dropped %d, stats %+v", len(dropped), st)
	if st.RTOs != 0 {
		t.Errorf("%d RTOs for isolated losses", st.RTOs)
	}
	if st.FastRecoveries == 0 {
		t.Error("no fast recovery")
	}
	if int(st.Retransmits) < len(dropped) || int(st.Retransmits) > len(dropped)+5 {
		t.Errorf("%d retransmissions for %d losses", st.Retransmits, len(dropped))
	}
}

func TestTailLossProbe(t *testing.T) {
	n := newTestNet(t, 10*time.Millisecond)
	a, b := n.pair(nil, nil)
	c, sc := n.connect(a, b, 80, nil)
	// Warm up the RTT estimate.
	ca, sa := newApp(c, 5, 20000), newApp(sc, 5^0xff, 0)
	n.pumps = append(n.pumps, ca.pump, sa.pump)
	n.Advance(500 * time.Millisecond)
	if sa.got != 20000 {
		t.Fatalf("warm-up got %d", sa.got)
	}
	// Drop the last two segments of the next burst.
	var last []uint32

	drops := 0
	n.drop = func(p []byte) bool {
		l, seq, _, fromA := dataSeg(p)
		if fromA && l > 0 && drops < 2 && seq-c.iss-1 >= 20000+8*1448 {
			drops++
			last = append(last, seq)
			return true
		}
		return false
	}
	ca.total = 20000 + 10*1448
	start := n.now
	if !n.runUntil(2*time.Second, func() bool { return sa.got == ca.total }) {
		t.Fatalf("got %d", sa.got)
	}
	st := c.Info()
	if st.RTOs != 0 || st.TLPs == 0 {
		t.Errorf("RTOs %d TLPs %d", st.RTOs, st.TLPs)
	}
	if d := n.now.Sub(start); d > 200*time.Millisecond {
		t.Errorf("tail repaired after %v", d)
	}
	checkApps(t, ca, sa)
}

func TestRTOBackoffAndTimeout(t *testing.T) {
	n := newTestNet(t, 5*time.Millisecond)
	a, b := n.pair(func(c *Config) { c.Retries = 4; c.DisableTLP = true }, nil)
	c, _ := n.connect(a, b, 80, nil)
	var times []time.Duration
	start := n.now
	n.drop = func(p []byte) bool {
		l, _, _, fromA := dataSeg(p)
		if fromA && l > 0 {
			times = append(times, n.now.Sub(start))
		}
		return true
	}
	c.Write(make([]byte, 100))
	n.Advance(60 * time.Second)
	if !errors.Is(c.Err(), ErrTimeout) {
		t.Fatalf("err %v state %v", c.Err(), c.State())
	}
	if len(times) != 5 {
		t.Fatalf("%d transmissions: %v", len(times), times)
	}
	for i := 2; i < len(times); i++ {
		d1, d0 := times[i]-times[i-1], times[i-1]-times[i-2]
		if d1 < 2*d0-time.Millisecond || d1 > 2*d0+time.Millisecond {
			t.Errorf("backoff %v after %v", d1, d0)
		}
	}
	if first := times[1] - times[0]; first < 200*time.Millisecond || first > 300*time.Millisecond {
		t.Errorf("first RTO %v", first)
	}
	if c.Info().RTOs != 4 {
		t.Errorf("RTOs %d", c.Info().RTOs)
	}
}

func TestRandomLossAndReordering(t *testing.T) {
	for _, tc := range []struct {
		name          string
		loss, reorder float64
		seed          uint64
	}{
		{"loss2", 0.02, 0, 1},
		{"loss5", 0.05, 0, 2},
		{"reorder", 0, 0.05, 3},
		{"both", 0.02, 0.03, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newTestNet(t, 10*time.Millisecond)
			n.rate = 20e6 / 8
			rng := rand.New(rand.NewPCG(tc.seed, 99))
			n.drop = func(p []byte) bool { return rng.Float64() < tc.loss }
			n.extra = func(p []byte) time.Duration {
				if rng.Float64() < tc.reorder {
					return time.Duration(rng.IntN(5000)) * time.Microsecond
				}
				return 0
			}
			a, b := n.pair(nil, nil)
			c, _ := bulk(t, n, a, b, 2<<20, 120*time.Second)
			t.Logf("%+v", c.Info())
		})
	}
}

func TestLossRecoveryWithoutSACK(t *testing.T) {
	n := newTestNet(t, 10*time.Millisecond)
	n.rate = 10e6 / 8
	noSACK := func(c *Config) { c.DisableSACK = true }
	a, b := n.pair(noSACK, noSACK)
	dataPkts := 0
	dropped := map[uint32]bool{}
	n.drop = func(p []byte) bool {
		l, seq, _, fromA := dataSeg(p)
		if !fromA || l == 0 {
			return false
		}
		dataPkts++
		if dataPkts%97 == 0 && !dropped[seq] {
			dropped[seq] = true
			return true
		}
		return false
	}
	c, _ := bulk(t, n, a, b, 4<<20, 60*time.Second)
	st := c.Info()
	if c.sackOK {
		t.Fatal("SACK negotiated")
	}
	if st.RTOs != 0 || st.FastRecoveries == 0 {
		t.Errorf("without SACK: %d RTOs, %d fast recoveries for %d isolated losses", st.RTOs, st.FastRecoveries, len(dropped))
	}
	t.Logf("%d losses: %d retransmits, %d recoveries, %d RTOs", len(dropped), st.Retransmits, st.FastRecoveries, st.RTOs)
}
