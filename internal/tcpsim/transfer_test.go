package tcpsim

import (
	"flag"
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/tcp"
)

var (
	fullMatrix  = flag.Bool("matrix", os.Getenv("TCP_MATRIX") != "", "run the full transfer matrix")
	matrixSeeds = flag.Int("seeds", 3, "seeds per case of the full matrix")
)

// matrixCase is one bulk-transfer scenario.
type matrixCase struct {
	rate    int64         // bit/s
	rtt     time.Duration // base RTT
	loss    float64       // per packet, each direction
	reorder float64
	dup     float64
	seed    uint64
	noSACK  bool // both ends without SACK: loss detection by duplicate ACKs
}

func (m matrixCase) String() string {
	s := fmt.Sprintf("%dMbps/%v/loss%.3g/reo%.3g/dup%.3g/seed%d", m.rate/1e6, m.rtt, m.loss, m.reorder, m.dup, m.seed)
	if m.noSACK {
		s += "/nosack"
	}
	return s
}

// run transfers data both ways and checks every byte.
func (m matrixCase) run(t *testing.T) {
	bdp := int(float64(m.rate) / 8 * m.rtt.Seconds())
	pc := netsim.PipeConfig{
		Rate:         m.rate,
		Delay:        m.rtt / 2,
		QueueBytes:   max(bdp, 30000),
		Loss:         m.loss,
		Reorder:      m.reorder,
		ReorderDelay: max(m.rtt/8, time.Millisecond),
		Duplicate:    m.dup,
	}
	// Size the transfer to about 5 s at the rate the path allows (the
	// link, or what loss leaves of it: Mathis et al.'s MSS/RTT/sqrt(p)),
	// at least 200 kB and at most 64 MB, so that each case exercises slow
	// start and steady state.
	est := float64(m.rate)
	if m.loss > 0 {
		est = min(est, 1448*8/m.rtt.Seconds()/math.Sqrt(m.loss))
	}
	size := min(max(int64(est/8*5), 200_000), 64<<20)
	bufs := func(c *tcp.Config) {
		c.SendBuffer = max(4<<20, 4*bdp)
		c.ReceiveBufferMax = max(6<<20, 4*bdp)
		c.DisableSACK = m.noSACK
	}
	p := newPath(t, m.seed, pc, "cubic", bufs)
	cli, srv := p.transfer(t, size, size/2)
	// Generous bound: eight times the estimate, plus slow start and RTOs.
	limit := 60*time.Second + time.Duration(float64(size*8)/est*float64(time.Second))*8
	if !p.runUntilDone(limit, cli, srv) {
		t.Fatalf("%v: incomplete after %v: server got %d/%d (eof %v), client got %d/%d (eof %v)\nclient %+v\nserver %+v",
			m, limit, srv.recv, size, srv.eof, cli.recv, size/2, cli.eof, cli.conn.Info(), srv.conn.Info())
	}
	if srv.bad != 0 || cli.bad != 0 || srv.recv != size || cli.recv != size/2 {
		t.Fatalf("%v: corrupt: server %d bytes (%d bad), client %d bytes (%d bad)", m, srv.recv, srv.bad, cli.recv, cli.bad)
	}
	if srv.crc != crcOf(size) || cli.crc != crcOf(size/2) {
		t.Fatalf("%v: stream CRC mismatch", m)
	}
}

// crcOf returns the CRC of the first n bytes of the test stream.
func crcOf(n int64) uint32 {
	var c uint32
	var off int64
	for off < n {
		b := streamAt(off, int(min(n-off, 1<<20)))
		c = crc32Update(c, b)
		off += int64(len(b))
	}
	return c
}

func TestTransferMatrix(t *testing.T) {
	var cases []matrixCase
	if *fullMatrix {
		rates := []int64{1e6, 10e6, 100e6, 1000e6}
		rtts := []time.Duration{time.Millisecond, 10 * time.Millisecond, 50 * time.Millisecond, 300 * time.Millisecond}
		impair := []struct{ loss, reo, dup float64 }{
			{0, 0, 0}, {0.001, 0, 0}, {0.01, 0, 0}, {0.05, 0, 0},
			{0, 0.02, 0}, {0, 0, 0.02}, {0.01, 0.01, 0.01},
		}
		for _, r := range rates {
			for _, rtt := range rtts {
				for _, im := range impair {
					for seed := uint64(1); seed <= uint64(*matrixSeeds); seed++ {
						cases = append(cases, matrixCase{r, rtt, im.loss, im.reo, im.dup, seed, false})
					}
				}
				for seed := uint64(1); seed <= uint64(*matrixSeeds); seed++ {
					cases = append(cases, matrixCase{r, rtt, 0.01, 0.01, 0, seed, true})
				}
			}
		}
	} else {
		cases = []matrixCase{
			{1e6, 50 * time.Millisecond, 0.01, 0, 0, 1, false},
			{10e6, 10 * time.Millisecond, 0, 0, 0, 1, false},
			{10e6, 300 * time.Millisecond, 0.01, 0.01, 0.01, 2, false},
			{100e6, time.Millisecond, 0.05, 0, 0, 3, false},
			{100e6, 50 * time.Millisecond, 0.001, 0.02, 0, 4, false},
			{100e6, 10 * time.Millisecond, 0.01, 0.01, 0.01, 5, false},
			{1000e6, 10 * time.Millisecond, 0, 0, 0.02, 6, false},
			{1000e6, 50 * time.Millisecond, 0.001, 0, 0, 7, false},
			{10e6, 50 * time.Millisecond, 0.01, 0.01, 0, 8, true},
		}
	}
	for _, m := range cases {
		t.Run(m.String(), func(t *testing.T) {
			t.Parallel()
			m.run(t)
		})
	}
}
