package policytest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
)

// The scheduler comparison runs on two heterogeneous paths, as in the
// BLEST and ECF papers' WiFi + cellular setups: a fast path (20 Mbit/s,
// 20 ms RTT) and a slow one (5 Mbit/s, 100 ms RTT), each with a little
// jitter and a queue of half its bandwidth-delay product, and a client
// receive buffer of 128 KiB that does not grow (the small buffer under
// which head-of-line blocking on the slow path hurts).
func heteroPaths() []path {
	return []path{
		{rate: 20e6, delay: 10 * time.Millisecond, queue: 25_000, jitter: 2 * time.Millisecond},
		{rate: 5e6, delay: 50 * time.Millisecond, queue: 31_250, jitter: 10 * time.Millisecond},
	}
}

const heteroRcvBuf = 128 << 10

func heteroNet(t testing.TB, seed uint64, sched string) *testNet {
	return newNet(t, seed, heteroPaths(),
		func(c *core.Config) { c.ReceiveBuffer, c.DisableAutoTune = heteroRcvBuf, true },
		func(c *core.Config) { c.Scheduler = sched })
}

// messageRun streams msgSize-byte messages every interval from 1 s to
// end, and returns the delivery delays and the delivered rate.
func messageRun(t testing.TB, n *testNet, msgSize int, interval, end time.Duration) ([]time.Duration, float64) {
	t.Helper()
	f := n.startDownload(t, msgSize, false, core.ConnOptions{})
	var tick func()
	tick = func() {
		if f.src == nil {
			// A lost SYN/ACK delays the connection: start when it is up.
			if n.Sim.Elapsed() > 5*time.Second {
				t.Fatal("server did not accept within 5 s")
			}
			n.Sim.After(100*time.Millisecond, tick)
			return
		}
		f.src.queue(n.Sim.Now())
		if n.Sim.Elapsed()+interval < end {
			n.Sim.After(interval, tick)
		}
	}
	n.Sim.After(time.Second, tick)
	n.Sim.RunFor(end + time.Second) // let the last messages arrive
	ds := f.delays()
	if want := len(f.src.due); len(ds) < want*9/10 {
		t.Fatalf("%d of %d messages delivered", len(ds), want)
	}
	rate := float64(len(ds)*msgSize) * 8 / (end - time.Second).Seconds()
	return ds, rate
}

// objectRun downloads size bytes on a connection warmed with 16 KiB (both
// subflows established, windows near their initial size, as for the
// objects of a web page) and returns the completion time.
func objectRun(t testing.TB, n *testNet, size int) time.Duration {
	t.Helper()
	const warm = 16 << 10
	f := n.startDownload(t, 1, false, core.ConnOptions{})
	n.Sim.After(300*time.Millisecond, func() { f.src.total += warm; f.src.pump() })
	var start time.Time
	n.Sim.After(time.Second, func() {
		start = n.Sim.Now()
		f.src.total += int64(size)
		f.src.pump()
	})
	want := int64(warm + size)
	for i := 0; i < 600 && f.dst.got < want; i++ {
		n.Sim.RunFor(50 * time.Millisecond)
	}
	if f.dst.got < want {
		t.Fatalf("object of %d bytes not delivered in 30 s (%d)", size, f.dst.got-warm)
	}
	for _, m := range f.dst.marks {
		if m.got >= want {
			return m.at.Sub(start)
		}
	}
	panic("unreachable")
}

// bulkRun returns the goodput of a bulk download from 2 s to end.
func bulkRun(t testing.TB, n *testNet, end time.Duration) float64 {
	t.Helper()
	f := n.startDownload(t, 1400, true, core.ConnOptions{})
	n.Sim.RunFor(end)
	from := n.Sim.Now().Add(-end + 2*time.Second)
	return float64(f.dst.bytesAt(n.Sim.Now())-f.dst.bytesAt(from)) * 8 / (end - 2*time.Second).Seconds()
}

type schedRow struct {
	name                string
	delayMean, delayP99 time.Duration
	msgRate             float64
	objects             map[int]float64 // object size -> Mbit/s
	bulk                float64
}

var schedNames = []string{"minrtt", "default", "roundrobin", "blest", "ecf", "redundant"}

// TestSchedulerRanking compares the schedulers on heterogeneous paths
// with a small receive buffer and checks that they rank as the papers
// rank them:
//
//   - application-level delay of a stream of 64 KiB messages at 10.5
//     Mbit/s (less than the fast path alone carries): ECF and BLEST wait
//     for the fast path instead of sending a message's tail on the slow
//     one, so their mean delay is at least 5% below the lowest-RTT
//     scheduler's (minrtt) and their 99th percentile below it (the default
//     scheduler is ECF's decision, so ranks as ecf); round-robin, which
//     fills the slow path as readily as the fast one, is well behind ECF
//     and BLEST (no longer behind minrtt: since the end of a message
//     held on the slow path goes again on the idle fast one, its mean
//     delay fell from 71.2 to 51.4 ms, minrtt's rose from 50.5 to 52.0);
//   - application-level throughput of a 1 MiB download on a warm
//     connection (ECF's web-object case): ECF and BLEST finish sooner
//     than minrtt, and round-robin no sooner.
//
// Bulk goodput (one seed) is printed but not ranked: with a saturating
// sender the fast path's window is bounded by losses, and the ranking
// then follows the TCP engine's loss recovery more than the scheduler
// (it changed sign twice while the engine was being improved).
func TestSchedulerRanking(t *testing.T) {
	seeds := []uint64{1, 2, 3}
	sizes := []int{1 << 20}
	if *sweep {
		seeds = []uint64{1, 2, 3, 4, 5, 6, 7, 8}
		sizes = []int{64 << 10, 256 << 10, 1 << 20, 4 << 20}
	}
	rows := map[string]*schedRow{}
	for _, name := range schedNames {
		r := &schedRow{name: name, objects: map[int]float64{}}
		rows[name] = r
		var all []time.Duration
		for _, seed := range seeds {
			ds, rate := messageRun(t, heteroNet(t, seed, name), 64<<10, 50*time.Millisecond, 10*time.Second)
			all = append(all, ds...)
			r.msgRate += rate / float64(len(seeds))
			for _, size := range sizes {
				d := objectRun(t, heteroNet(t, seed, name), size)
				r.objects[size] += float64(size) * 8 / d.Seconds() / 1e6 / float64(len(seeds))
			}
		}
		st := summarise(all)
		r.delayMean, r.delayP99 = st.mean, st.p99
		r.bulk = bulkRun(t, heteroNet(t, 1, name), 10*time.Second)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "schedulers: fast 20 Mbit/s 20 ms RTT + slow 5 Mbit/s 100 ms RTT, receive buffer 128 KiB, %d seeds\n", len(seeds))
	fmt.Fprintf(&b, "%-10s  %14s  %13s  %12s", "scheduler", "delay mean ms", "delay p99 ms", "stream Mbit/s")
	for _, size := range sizes {
		fmt.Fprintf(&b, "  %5dKiB Mbit/s", size>>10)
	}
	fmt.Fprintf(&b, "  %12s\n", "bulk Mbit/s")
	for _, name := range schedNames {
		r := rows[name]
		fmt.Fprintf(&b, "%-10s  %14.1f  %13.1f  %12.2f", name, ms(r.delayMean), ms(r.delayP99), r.msgRate/1e6)
		for _, size := range sizes {
			fmt.Fprintf(&b, "  %14.2f", r.objects[size])
		}
		fmt.Fprintf(&b, "  %12.2f\n", r.bulk/1e6)
	}
	t.Log("\n" + b.String())

	mr, rr := rows["minrtt"], rows["roundrobin"]
	for _, name := range []string{"blest", "ecf", "default"} {
		r := rows[name]
		// The margin was 10% while minrtt's records ended in runt
		// segments (a DSS longer than the space kept for it); its mean
		// delay fell from 49.9 to 43.1 ms when they went.
		if r.delayMean >= mr.delayMean*95/100 || r.delayP99 >= mr.delayP99 {
			t.Errorf("%s delay mean %v p99 %v, want the mean 5%% below minrtt's %v and the p99 below %v", name, r.delayMean, r.delayP99, mr.delayMean, mr.delayP99)
		}
		// Since BLEST counts the slow subflow's in-flight bytes as its
		// paper does (issue 17), it sends 1 MiB objects as fast as minrtt
		// (over seeds 1-6 both average 15.4 Mbit/s; one seed's object
		// varies by 3% either way); it must not be measurably slower.
		if r.objects[1<<20] < mr.objects[1<<20]*0.97 {
			t.Errorf("%s 1 MiB object at %.2f Mbit/s, want at least 97%% of minrtt's %.2f", name, r.objects[1<<20], mr.objects[1<<20])
		}
		if r.msgRate < mr.msgRate*0.98 {
			t.Errorf("%s delivered the stream at %.2f Mbit/s, minrtt at %.2f", name, r.msgRate/1e6, mr.msgRate/1e6)
		}
	}
	for _, name := range []string{"blest", "ecf"} {
		if r := rows[name]; rr.delayMean <= r.delayMean*6/5 || rr.delayP99 <= r.delayP99 {
			t.Errorf("roundrobin delay mean %v p99 %v, want well above %s's %v %v", rr.delayMean, rr.delayP99, name, r.delayMean, r.delayP99)
		}
	}
	if rr.objects[1<<20] > mr.objects[1<<20]*1.02 {
		t.Errorf("roundrobin 1 MiB object at %.2f Mbit/s beats minrtt's %.2f", rr.objects[1<<20], mr.objects[1<<20])
	}
}

// TestRedundantLossy checks that with one lossy path the redundant
// scheduler delivers small messages with the lowest delay: every message
// also travels on the clean path, so a loss costs no retransmission wait.
// The lossy path has the lower RTT, so the other schedulers prefer it.
func TestRedundantLossy(t *testing.T) {
	seeds := []uint64{1, 2}
	if *sweep {
		seeds = []uint64{1, 2, 3, 4, 5, 6}
	}
	paths := []path{
		{rate: 10e6, delay: 10 * time.Millisecond, loss: 0.02},
		{rate: 10e6, delay: 15 * time.Millisecond},
	}
	res := map[string]stats{}
	var b strings.Builder
	fmt.Fprintf(&b, "1 KiB messages every 20 ms; path A 10 Mbit/s 20 ms RTT 2%% loss, path B 10 Mbit/s 30 ms RTT\n")
	fmt.Fprintf(&b, "%-10s  %13s  %12s  %12s\n", "scheduler", "mean ms", "p99 ms", "max ms")
	for _, name := range schedNames {
		var all []time.Duration
		for _, seed := range seeds {
			n := newNet(t, seed, paths, nil, func(c *core.Config) { c.Scheduler = name })
			ds, _ := messageRun(t, n, 1<<10, 20*time.Millisecond, 10*time.Second)
			all = append(all, ds...)
		}
		st := summarise(all)
		res[name] = st
		fmt.Fprintf(&b, "%-10s  %13.1f  %12.1f  %12.1f\n", name, ms(st.mean), ms(st.p99), ms(st.max))
	}
	t.Log("\n" + b.String())
	red := res["redundant"]
	for _, name := range schedNames {
		if name == "redundant" {
			continue
		}
		if o := res[name]; red.mean >= o.mean || red.p99 >= o.p99/2 {
			t.Errorf("redundant mean %v p99 %v, %s mean %v p99 %v: want redundant lower, p99 at most half", red.mean, red.p99, name, o.mean, o.p99)
		}
	}
}
