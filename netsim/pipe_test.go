package netsim

import (
	"bytes"
	"io"
	"math"
	"math/bits"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/mptcp-go/mptcp/pcap"
)

// A train sent at once leaves the transmitter back to back: packet i
// arrives at (i+1)*size*8/rate + delay, exactly.
func TestRateAndDelayExact(t *testing.T) {
	// 1500 bytes at 12 Mbit/s is exactly 1 ms.
	s, a, b, _ := pair(t, 1, PipeConfig{Rate: 12e6, Delay: 10 * time.Millisecond}, PipeConfig{})
	var train [][]byte
	for i := range 10 {
		train = append(train, udpPacket(addrA, addrB, uint64(i), 1500))
	}
	sendAt(s, a, 0, train...)
	s.Run()
	var got, want []time.Duration
	for i, r := range stackOf(b).got {
		got = append(got, r.at)
		want = append(want, ms(10+float64(i+1)))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("arrival times (-want +got):\n%s", diff)
	}
}

// Through a router, store and forward: the second hop starts serialising a
// packet only once it has wholly arrived.
func TestRateAndDelayThroughRouter(t *testing.T) {
	s, a, _, b := routed(t, 1,
		PipeConfig{Rate: 12e6, Delay: 10 * time.Millisecond},
		PipeConfig{Rate: 24e6, Delay: 5 * time.Millisecond})
	for i := range 5 {
		sendAt(s, a, 0, udpPacket(addrA, addrB, uint64(i), 1500))
	}
	s.Run()
	var got, want []time.Duration
	for i, r := range stackOf(b).got {
		got = append(got, r.at)
		want = append(want, ms(float64(i+1)+10+0.5+5))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("arrival times (-want +got):\n%s", diff)
	}
}

// A rate that does not divide the packet size into whole nanoseconds still
// holds over a long train: the remainders are carried, not lost.
func TestRateRemainderCarried(t *testing.T) {
	s, a, b, _ := pair(t, 1, PipeConfig{Rate: 3e6 + 7}, PipeConfig{})
	const n, size = 1000, 1000
	for i := range n {
		sendAt(s, a, 0, udpPacket(addrA, addrB, uint64(i), size))
	}
	s.Run()
	got := stackOf(b).got
	want := time.Duration(int64(n*size*8) * 1e9 / (3e6 + 7))
	if last := got[len(got)-1].at; last != want {
		t.Errorf("last arrival %v, want %v", last, want)
	}
}

func TestQueueOverflowDropsTail(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  PipeConfig
	}{
		{"packets", PipeConfig{Rate: 1e6, QueuePackets: 5}},
		{"bytes", PipeConfig{Rate: 1e6, QueueBytes: 5000}},
		{"bytes-partial", PipeConfig{Rate: 1e6, QueueBytes: 5999}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, a, b, l := pair(t, 1, tc.cfg, PipeConfig{})
			for i := range 20 {
				sendAt(s, a, 0, udpPacket(addrA, addrB, uint64(i), 1000))
			}
			// A late packet, after the queue has drained, gets through.
			sendAt(s, a, time.Second, udpPacket(addrA, addrB, 99, 1000))
			s.Run()
			// Packet 0 goes straight to the transmitter; 1..5 fill the queue.
			want := []uint64{0, 1, 2, 3, 4, 5, 99}
			if diff := cmp.Diff(want, stackOf(b).seqs()); diff != "" {
				t.Errorf("delivered (-want +got):\n%s", diff)
			}
			st := l.AB().Stats()
			if st.QueueDrops != 14 || st.Sent != 21 || st.Delivered != 7 {
				t.Errorf("stats %+v; want 14 queue drops of 21 sent, 7 delivered", st)
			}
		})
	}
}

func TestMTUDrops(t *testing.T) {
	s, a, b, l := pair(t, 1, PipeConfig{MTU: 1500}, PipeConfig{})
	sendAt(s, a, 0, udpPacket(addrA, addrB, 1, 1500), udpPacket(addrA, addrB, 2, 1501))
	s.Run()
	if got := stackOf(b).seqs(); !slices.Equal(got, []uint64{1}) {
		t.Errorf("delivered %v, want [1]", got)
	}
	if st := l.AB().Stats(); st.TooBig != 1 {
		t.Errorf("TooBig = %d, want 1", st.TooBig)
	}
}

// sendSpaced sends n packets a->b, one every gap.
func sendSpaced(s *Sim, a *Host, n int, gap time.Duration, size int) {
	for i := range n {
		sendAt(s, a, time.Duration(i)*gap, udpPacket(addrA, addrB, uint64(i), size))
	}
}

// The loss rate converges to the configured one; the seeds are fixed, so
// the check is deterministic, and the tolerance (4.5 standard deviations)
// leaves room for any seed set.
func TestLossRateConverges(t *testing.T) {
	const n, p = 20000, 0.05
	for seed := uint64(1); seed <= 5; seed++ {
		s, a, b, l := pair(t, seed, PipeConfig{Loss: p}, PipeConfig{})
		sendSpaced(s, a, n, time.Microsecond, 100)
		s.Run()
		lost := n - len(stackOf(b).got)
		rate := float64(lost) / n
		if tol := 4.5 * math.Sqrt(p*(1-p)/n); math.Abs(rate-p) > tol {
			t.Errorf("seed %d: loss rate %.4f, want %.2f ± %.4f", seed, rate, p, tol)
		}
		if st := l.AB().Stats(); st.LossDrops != uint64(lost) {
			t.Errorf("seed %d: LossDrops %d, %d lost", seed, st.LossDrops, lost)
		}
	}
}

func TestGilbertElliottBursts(t *testing.T) {
	g := &GilbertElliott{P: 0.01, R: 0.25, LossBad: 1}
	const n = 200000
	s, a, b, _ := pair(t, 7, PipeConfig{Burst: g}, PipeConfig{})
	sendSpaced(s, a, n, time.Microsecond, 100)
	s.Run()
	got := stackOf(b).seqs()
	lost, bursts := 0, 0
	next := uint64(0)
	for _, q := range got {
		if q > next {
			lost += int(q - next)
			bursts++
		}
		next = q + 1
	}
	rate := float64(lost) / n
	mean := float64(lost) / float64(bursts)
	if want := g.MeanLoss(); math.Abs(rate-want) > 0.1*want {
		t.Errorf("loss rate %.4f, want %.4f ± 10%%", rate, want)
	}
	// Bursts last 1/R = 4 packets on average; Bernoulli loss at the same
	// rate would give bursts of about 1.04.
	if mean < 3.5 || mean > 4.5 {
		t.Errorf("mean burst length %.2f, want about 4", mean)
	}
}

func TestReorderAndDuplicate(t *testing.T) {
	const n = 20000
	cfg := PipeConfig{Delay: 10 * time.Millisecond, Reorder: 0.1, ReorderDelay: 3 * time.Millisecond, Duplicate: 0.02}
	s, a, b, l := pair(t, 3, cfg, PipeConfig{})
	sendSpaced(s, a, n, time.Millisecond, 200)
	s.Run()
	st := l.AB().Stats()
	got := stackOf(b).got
	if len(got) != n+int(st.Duplicated) {
		t.Fatalf("%d delivered, want %d + %d duplicates", len(got), n, st.Duplicated)
	}
	// Count packets held back (their delay shows it) and packets delivered
	// after a higher sequence number: with packets 1 ms apart and held
	// 3 ms, nearly every held packet is overtaken.
	held, late, dups := 0, 0, 0
	maxSeen := int64(-1)
	seen := map[uint64]bool{}
	for _, r := range got {
		if seen[r.seq] {
			dups++
			continue
		}
		seen[r.seq] = true
		if int64(r.seq) < maxSeen {
			late++
		}
		maxSeen = max(maxSeen, int64(r.seq))
		switch d := r.at - time.Duration(r.seq)*time.Millisecond; d {
		case 10 * time.Millisecond:
		case 13 * time.Millisecond:
			held++
		default:
			t.Fatalf("packet %d took %v, want 10ms or 13ms", r.seq, d)
		}
	}
	check := func(what string, count int, p float64) {
		t.Helper()
		rate := float64(count) / n
		if tol := 4.5 * math.Sqrt(p*(1-p)/n); math.Abs(rate-p) > tol {
			t.Errorf("%s rate %.4f, want %.2f ± %.4f", what, rate, p, tol)
		}
	}
	check("reorder", held, cfg.Reorder)
	check("duplicate", dups, cfg.Duplicate)
	if uint64(held) != st.Reordered || uint64(dups) != st.Duplicated {
		t.Errorf("counted %d held back, %d duplicated; stats say %d, %d", held, dups, st.Reordered, st.Duplicated)
	}
	if late < held*9/10 || late > held {
		t.Errorf("%d packets arrived out of order, %d held back", late, held)
	}
}

// Jitter spreads the delay but, alone, never reorders: a packet whose draw
// would overtake the one ahead waits for it.
func TestJitterKeepsOrder(t *testing.T) {
	const n, gap = 5000, time.Millisecond
	s, a, b, _ := pair(t, 3, PipeConfig{Delay: 10 * time.Millisecond, Jitter: 5 * time.Millisecond}, PipeConfig{})
	sendSpaced(s, a, n, gap, 100)
	s.Run()
	got := stackOf(b).got
	if len(got) != n {
		t.Fatalf("%d delivered, want %d", len(got), n)
	}
	var minD, maxD time.Duration = time.Hour, 0
	for i, r := range got {
		if r.seq != uint64(i) {
			t.Fatalf("delivery %d is packet %d: jitter reordered", i, r.seq)
		}
		d := r.at - time.Duration(i)*gap
		minD, maxD = min(minD, d), max(maxD, d)
	}
	if minD < 10*time.Millisecond || maxD > 15*time.Millisecond || minD > 10500*time.Microsecond || maxD < 14500*time.Microsecond {
		t.Errorf("delays span [%v, %v], want within [10ms, 15ms] and most of it", minD, maxD)
	}
}

// Pulling the cable loses what is queued and in flight, and what is sent
// while down; traffic resumes when the link comes back.
func TestScheduleDownUp(t *testing.T) {
	cfg := PipeConfig{Rate: 12e6, Delay: 5 * time.Millisecond} // 1500 B = 1 ms
	s, a, b, l := pair(t, 1, cfg, PipeConfig{})
	if err := l.Schedule(Epoch.Add(30*time.Millisecond), Down()); err != nil {
		t.Fatal(err)
	}
	if err := l.Schedule(Epoch.Add(60*time.Millisecond), Up()); err != nil {
		t.Fatal(err)
	}
	// One packet every 0.5 ms for 100 ms: twice the link rate, so a queue
	// builds until the cable is pulled.
	const n = 200
	for i := range n {
		sendAt(s, a, time.Duration(i)*500*time.Microsecond, udpPacket(addrA, addrB, uint64(i), 1500))
	}
	s.Run()
	got := stackOf(b).got
	st := l.AB().Stats()
	// Before the pull, packet k finishes transmission at k+1 ms and arrives
	// 5 ms later: packets 0..23 arrive by 29 ms, 24 arrives at exactly 30 ms
	// but the pull was scheduled first, so it is lost with the rest.
	var before, after []uint64
	for _, r := range got {
		if r.at < 30*time.Millisecond {
			before = append(before, r.seq)
		} else {
			after = append(after, r.seq)
			if r.seq < 120 {
				t.Errorf("packet %d, sent before the link came back, delivered at %v", r.seq, r.at)
			}
		}
	}
	if diff := cmp.Diff(seqRange(0, 24), before); diff != "" {
		t.Errorf("delivered before the pull (-want +got):\n%s", diff)
	}
	// Sent at 60 ms and later: packets 120..199, 80 packets at twice the
	// rate, all queued (no queue limit), all delivered.
	if diff := cmp.Diff(seqRange(120, 200), after); diff != "" {
		t.Errorf("delivered after the link came back (-want +got):\n%s", diff)
	}
	// Packets sent in [30 ms, 60 ms): 60 dropped on arrival at a down link;
	// queued and in flight at the pull: 24..59.
	if st.DownDrops != 60+36 {
		t.Errorf("DownDrops = %d, want 96", st.DownDrops)
	}
	checkConservation(t, l.AB())
}

func seqRange(lo, hi uint64) []uint64 {
	var s []uint64
	for i := lo; i < hi; i++ {
		s = append(s, i)
	}
	return s
}

// A scheduled rate change applies from the next packet the transmitter takes.
func TestScheduleRateAndDelay(t *testing.T) {
	s, a, b, l := pair(t, 1, PipeConfig{Rate: 12e6, Delay: 10 * time.Millisecond}, PipeConfig{})
	if err := l.AB().Schedule(Epoch.Add(2500*time.Microsecond), Rate(24e6), Delay(20*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		sendAt(s, a, 0, udpPacket(addrA, addrB, uint64(i), 1500))
	}
	s.Run()
	// Packets 0..2 start at 0, 1, 2 ms at 1 ms each (packet 2 is on the wire
	// when the rate changes and finishes at the old rate); 3 and 4 take
	// 0.5 ms each and see the new delay.
	want := []time.Duration{ms(11), ms(12), ms(13), ms(23.5), ms(24)}
	var got []time.Duration
	for _, r := range stackOf(b).got {
		got = append(got, r.at)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("arrivals (-want +got):\n%s", diff)
	}
	if err := l.AB().Schedule(Epoch, Down()); err == nil {
		t.Error("scheduling in the past succeeded")
	}
	if err := l.AB().Schedule(s.Now(), Loss(2)); err == nil {
		t.Error("scheduling loss probability 2 succeeded")
	}
}

// checkConservation checks the PipeStats identity.
func checkConservation(t *testing.T, p *Pipe) {
	t.Helper()
	st := p.Stats()
	in := st.Sent + st.Duplicated
	out := st.Delivered + st.QueueDrops + st.LossDrops + st.DownDrops + st.TooBig + uint64(st.Queued+st.InFlight)
	if in != out {
		t.Errorf("pipe %s: sent %d + duplicated %d != %d accounted for: %+v", p.Name(), st.Sent, st.Duplicated, out, st)
	}
}

// The counters balance at every moment of an impaired run, not just at
// the end.
func TestCountersBalance(t *testing.T) {
	cfg := PipeConfig{Rate: 10e6, Delay: 3 * time.Millisecond, QueuePackets: 8, Loss: 0.03, Jitter: time.Millisecond,
		Reorder: 0.05, Duplicate: 0.05}
	s, a, _, l := pair(t, 9, cfg, PipeConfig{})
	l.Schedule(Epoch.Add(40*time.Millisecond), Down())
	l.Schedule(Epoch.Add(55*time.Millisecond), Up())
	sendSpaced(s, a, 400, 250*time.Microsecond, 700)
	for i := range 100 {
		s.RunUntil(Epoch.Add(time.Duration(i) * time.Millisecond))
		checkConservation(t, l.AB())
	}
	s.Run()
	checkConservation(t, l.AB())
	st := l.AB().Stats()
	if st.QueueDrops == 0 || st.LossDrops == 0 || st.DownDrops == 0 || st.Duplicated == 0 || st.Reordered == 0 {
		t.Errorf("scenario did not exercise every counter: %+v", st)
	}
}

func TestInvalidConfig(t *testing.T) {
	for _, cfg := range []PipeConfig{
		{Rate: -1}, {Delay: -1}, {QueueBytes: -1}, {Loss: 1.5}, {Loss: math.NaN()}, {Reorder: -0.1},
		{Duplicate: 2}, {Burst: &GilbertElliott{P: 2}},
	} {
		s := New(1)
		a := must(s.NewHost("a"))
		b := must(s.NewHost("b"))
		ia := must(a.AddInterface("eth0"))
		ib := must(b.AddInterface("eth0"))
		if _, err := s.Connect(ia, ib, cfg); err == nil {
			t.Errorf("Connect accepted %+v", cfg)
		}
	}
}

// Corruption flips exactly one bit of the chosen packets, at the configured
// rate. The check reads the pipe's delivery capture, since a flip in the
// destination address makes the host refuse the packet.
func TestCorruption(t *testing.T) {
	const n, p = 10000, 0.05
	s, a, _, l := pair(t, 11, PipeConfig{Corrupt: p}, PipeConfig{})
	var buf bytes.Buffer
	w, _ := pcap.NewWriter(&buf)
	l.AB().Capture(w, AtDelivery)
	sendSpaced(s, a, n, time.Microsecond, 100)
	s.Run()
	rd, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for i := 0; ; i++ {
		got, _, err := rd.ReadPacketData()
		if err == io.EOF {
			if i != n {
				t.Fatalf("%d packets delivered, want %d", i, n)
			}
			break
		}
		orig := udpPacket(addrA, addrB, uint64(i), 100)
		flipped := 0
		for k := range got {
			flipped += bits.OnesCount8(got[k] ^ orig[k])
		}
		switch flipped {
		case 0:
		case 1:
			bad++
		default:
			t.Fatalf("packet %d: %d bits flipped, want 0 or 1", i, flipped)
		}
	}
	if tol := 4.5 * math.Sqrt(p*(1-p)/n); math.Abs(float64(bad)/n-p) > tol {
		t.Errorf("corruption rate %.4f, want %.2f ± %.4f", float64(bad)/n, p, tol)
	}
	if st := l.AB().Stats(); st.Corrupted != uint64(bad) || st.Delivered != n {
		t.Errorf("stats %+v; want %d corrupted of %d delivered", st, bad, n)
	}
}
