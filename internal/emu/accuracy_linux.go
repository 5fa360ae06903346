//go:build linux

package emu

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/scenario"
	"golang.org/x/sys/unix"
)

// MeasureAccuracy measures how closely the emulator reproduces a link's
// delay and rate, on a one-path topology it builds (and removes) for the
// purpose. Each row sends timestamped UDP probes from the client to the
// server over an idle path whose client-to-server direction has the
// configured delay and rate, and compares each probe's one-way delay
// (the server's kernel receive timestamp minus the client's clock before
// the send: one host, one clock) with the delay plus the probe's
// serialisation time; then a UDP flow offered above the rate saturates the
// path and the receiver's throughput is compared with the rate. Two rows
// come first as references: "direct", the same probes over a veth pair
// without emulator (the floor of the measurement itself), and "ideal",
// through the emulator with an ideal link (its forwarding cost).
// It needs root.
func MeasureAccuracy(ctx context.Context, cfg AccuracyConfig) (*AccuracyReport, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if err := lab.Available(); err != nil {
		return nil, err
	}
	opts := cfg.Options.withDefaults()
	rep := &AccuracyReport{CPUs: runtime.NumCPU(), IO: opts.IO.String(), Spin: opts.Spin, Started: time.Now()}
	var uts unix.Utsname
	if unix.Uname(&uts) == nil {
		rep.Kernel = unix.ByteSliceToString(uts.Release[:])
	}
	progress := func(name string) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "measuring %s...\n", name)
		}
	}

	// The floor: a veth pair, no emulator.
	progress("direct")
	direct, err := measureDirect(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	rep.Rows = append(rep.Rows, *direct)

	tp, err := lab.Build(lab.Config{Paths: 1, Middle: lab.Wire})
	if err != nil {
		return nil, err
	}
	defer tp.Close()
	lp := tp.Paths[0]
	for _, end := range []struct {
		ns  lab.Netns
		ifc string
	}{{tp.Client, lp.ClientIf}, {tp.Server, lp.ServerIf}, {tp.Middle, lp.MiddleClientIf}, {tp.Middle, lp.MiddleServerIf}} {
		if err := DisableOffloads(end.ns, end.ifc); err != nil {
			return nil, err
		}
	}
	rates := append([]int64{0}, cfg.Rates...)
	for _, rate := range rates {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		row := AccuracyRow{Name: "ideal", Rate: rate}
		up := netsim.PipeConfig{}
		if rate > 0 {
			row.Name = rateString(float64(rate))
			row.Delay = cfg.Delay
			// A queue of 20 ms at the rate, at least 64 KB: full
			// throughout the saturating flow.
			up = netsim.PipeConfig{Rate: rate, Delay: cfg.Delay, QueueBytes: int(max(rate/8/5, 64<<10))}
			row.Expected = cfg.Delay + time.Duration(int64(cfg.ProbeSize+ipUDPHdr+opts.Overhead)*8*1e9/rate)
		}
		progress(row.Name)
		if err := measureRow(ctx, tp, &cfg, up, &row); err != nil {
			return nil, fmt.Errorf("emu: accuracy at %s: %w", row.Name, err)
		}
		rep.Rows = append(rep.Rows, row)
	}
	return rep, nil
}

// measureDirect measures the probes over a direct veth pair.
func measureDirect(ctx context.Context, cfg *AccuracyConfig) (*AccuracyRow, error) {
	tp, err := lab.Build(lab.Config{Paths: 1, Middle: lab.Direct})
	if err != nil {
		return nil, err
	}
	defer tp.Close()
	lp := tp.Paths[0]
	if err := DisableOffloads(tp.Client, lp.ClientIf); err != nil {
		return nil, err
	}
	if err := DisableOffloads(tp.Server, lp.ServerIf); err != nil {
		return nil, err
	}
	row := &AccuracyRow{Name: "direct"}
	if err := probe(ctx, tp, cfg, row); err != nil {
		return nil, fmt.Errorf("emu: accuracy, direct: %w", err)
	}
	return row, nil
}

func measureRow(ctx context.Context, tp *lab.Topology, cfg *AccuracyConfig, up netsim.PipeConfig, row *AccuracyRow) error {
	lp := tp.Paths[0]
	e, err := Start(tp.Middle.Name(), Config{
		Paths:   []Path{{Name: "p", ClientIf: lp.MiddleClientIf, ServerIf: lp.MiddleServerIf, Link: scenario.Link{Up: up}}},
		Options: cfg.Options,
	})
	if err != nil {
		return err
	}
	defer e.Stop()
	if err := tp.WaitReady(10 * time.Second); err != nil {
		return err
	}
	start := e.Stats().Paths[0].Up
	if err := probe(ctx, tp, cfg, row); err != nil {
		return err
	}
	before := e.Stats().Paths[0].Up
	late := latenessBetween(start, before)
	row.ProbeLatenessP50, row.ProbeLatenessP99 = late.Quantile(0.5), late.Quantile(0.99)
	if up.Rate == 0 {
		return nil
	}
	load, err := saturate(ctx, tp, cfg, up.Rate, func() int64 { return e.Stats().Paths[0].Up.Queued })
	if err != nil {
		return err
	}
	after := e.Stats().Paths[0].Up
	row.OfferedBps, row.AchievedBps = load.Offered, load.Achieved
	row.RateError = load.Achieved/float64(up.Rate) - 1
	row.SenderLimited = load.MinQueued == 0
	late = latenessBetween(before, after)
	row.LatenessP50, row.LatenessP99 = late.Quantile(0.5), late.Quantile(0.99)
	row.QueueDrops = after.QueueDrops - before.QueueDrops
	outside := func(c Counters) uint64 { return c.Overflow + c.Invalid + c.TxErrors + c.RingDrops }
	row.OutsideModelDrops = outside(after) - outside(before)
	return nil
}

// probe sends cfg.Probes timestamped datagrams from the client to the
// server over the topology's first path and fills row's delays.
func probe(ctx context.Context, tp *lab.Topology, cfg *AccuracyConfig, row *AccuracyRow) error {
	// Never two probes closer than twice a probe's serialisation: a probe
	// must find the queue empty, or its delay is the queue's, not the
	// link's.
	gap := cfg.ProbeInterval / 2
	if row.Rate > 0 {
		gap = max(gap, time.Duration(2*int64(cfg.ProbeSize+ipUDPHdr)*8*1e9/row.Rate))
	}
	res, err := runProbes(ctx, tp, cfg.Probes, cfg.ProbeInterval, gap, cfg.ProbeSize, row.Delay+200*time.Millisecond)
	if err != nil {
		return err
	}
	var delays, errs []time.Duration
	row.ProbesSent = 0
	for _, r := range res {
		if r.Sent != 0 {
			row.ProbesSent++
		}
		if r.Received() {
			delays = append(delays, r.OneWay())
			errs = append(errs, r.OneWay()-row.Expected)
		}
	}
	row.OneWay = distribution(delays)
	row.Error = distribution(errs)
	return nil
}

// probeResult is one probe: when it was sent and received (Unix ns; 0 if
// it was not; a probe with Sent 0 could not be sent).
type probeResult struct {
	Sent, Recv int64
}

func (p probeResult) Received() bool        { return p.Recv != 0 }
func (p probeResult) OneWay() time.Duration { return time.Duration(p.Recv - p.Sent) }

// runProbes sends count probes of size bytes of UDP payload, interval
// apart, from the client to the server on the topology's first path, and
// waits up to linger after the last for stragglers. A sender that falls
// behind (descheduled) catches up, but never sends two probes less than
// minGap apart.
func runProbes(ctx context.Context, tp *lab.Topology, count int, interval, minGap time.Duration, size int, linger time.Duration) ([]probeResult, error) {
	lp := tp.Paths[0]
	var rc *net.UDPConn
	if err := tp.Server.Do(func() (err error) {
		rc, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lp.Server.V4, 0)))
		return err
	}); err != nil {
		return nil, err
	}
	defer rc.Close()
	raw, err := rc.SyscallConn()
	if err != nil {
		return nil, err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
		// Room for every probe (about 1 KiB of buffer each), so that a
		// reader starved of CPU loses none; root may exceed rmem_max.
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, count*2048) != nil {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, count*2048)
		}
	}); err != nil || serr != nil {
		return nil, fmt.Errorf("SO_TIMESTAMPNS: %w", errors.Join(err, serr))
	}
	var sc *net.UDPConn
	if err := tp.Client.Do(func() (err error) {
		sc, err = net.DialUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lp.Client.V4, 0)), rc.LocalAddr().(*net.UDPAddr))
		return err
	}); err != nil {
		return nil, err
	}
	defer sc.Close()

	res := make([]probeResult, count)
	var got atomic.Int64
	// take records the probe a datagram carries, with the receive time
	// in its control messages oob.
	take := func(buf []byte, oob []byte) {
		if len(buf) < probeHeader || binary.BigEndian.Uint32(buf) != probeMagic {
			return
		}
		seq := binary.BigEndian.Uint64(buf[4:])
		rx, ok := rxTimestamp(oob)
		if !ok || seq >= uint64(count) || res[seq].Recv != 0 {
			return
		}
		res[seq].Recv = rx
		got.Add(1)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf, oob := make([]byte, 2048), make([]byte, 256)
		for {
			n, oobn, _, _, err := rc.ReadMsgUDP(buf, oob)
			if err != nil {
				return
			}
			take(buf[:n], oob[:oobn])
		}
	}()
	msg := make([]byte, max(size, probeHeader))
	binary.BigEndian.PutUint32(msg, probeMagic)
	start := time.Now()
	var last time.Time
	n, sent := 0, int64(0)
	for ; n < count && ctx.Err() == nil; n++ {
		next := start.Add(time.Duration(n) * interval)
		if n > 0 && next.Sub(last) < minGap {
			next = last.Add(minGap)
		}
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		for time.Since(last) < minGap {
			// Sleep may return a little early.
		}
		last = time.Now()
		binary.BigEndian.PutUint64(msg[4:], uint64(n))
		now := time.Now().UnixNano()
		binary.BigEndian.PutUint64(msg[12:], uint64(now))
		if _, err := sc.Write(msg); err == nil {
			res[n].Sent = now
			sent++
		}
	}
	// Wait for stragglers until every probe is in or linger has passed,
	// then stop the reader and take what the socket still holds: a
	// reader starved of CPU on a busy machine loses nothing that arrived.
	for end := time.Now().Add(linger); got.Load() < sent && time.Now().Before(end) && ctx.Err() == nil; {
		time.Sleep(2 * time.Millisecond)
	}
	_ = rc.SetReadDeadline(time.Now())
	wg.Wait()
	_ = rc.SetReadDeadline(time.Time{})
	_ = raw.Read(func(fd uintptr) bool {
		buf, oob := make([]byte, 2048), make([]byte, 256)
		for {
			n, oobn, _, _, err := unix.Recvmsg(int(fd), buf, oob, unix.MSG_DONTWAIT)
			if err != nil {
				return true
			}
			take(buf[:n], oob[:oobn])
		}
	})
	// A probe whose send failed has Sent 0, and one received for a
	// failed send cannot be told apart: drop both.
	for i := range res[:n] {
		if res[i].Sent == 0 {
			res[i].Recv = 0
		}
	}
	return res[:n], ctx.Err()
}

// rxTimestamp returns the SCM_TIMESTAMPNS receive time (Unix ns) in oob.
func rxTimestamp(oob []byte) (int64, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			sec := int64(binary.NativeEndian.Uint64(m.Data))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:]))
			return sec*1e9 + nsec, true
		}
	}
	return 0, false
}

// loadResult is what a saturating flow measured.
type loadResult struct {
	Offered, Achieved float64 // IP bit/s
	// MinQueued is the fewest packets the emulator's queue held at any
	// sample during the measurement (-1 if not sampled): 0 means the
	// sender left the link idle at times, and the achieved rate is the
	// sender's shortfall, not the emulator's.
	MinQueued int64
}

// saturate runs a UDP flow offered at cfg.Overload times rate over the
// first path for cfg.Load and measures the IP rate at the receiver, from
// the kernel's receive timestamps, after the warm-up. queued, if not nil,
// reports the emulator's queue, sampled every millisecond.
func saturate(ctx context.Context, tp *lab.Topology, cfg *AccuracyConfig, rate int64, queued func() int64) (loadResult, error) {
	res := loadResult{MinQueued: -1}
	rfd, sfd, err := loadSockets(tp)
	if err != nil {
		return res, err
	}
	defer unix.Close(rfd)
	defer unix.Close(sfd)

	start := time.Now()
	rx := loadReceiver{from: start.Add(cfg.LoadWarmup).UnixNano(), to: start.Add(cfg.Load).UnixNano()}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rx.run(rfd, &stop)
	}()
	if queued != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res.MinQueued = minQueued(queued, rx.from, rx.to, &stop)
		}()
	}
	pps := cfg.Overload * float64(rate) / float64((loadSize+ipUDPHdr)*8)
	sent := sendLoad(ctx, sfd, pps, start, cfg.Load)
	end := time.Now()
	stop.Store(true)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return res, err
	}
	res.Offered = float64(sent) * (loadSize + ipUDPHdr) * 8 / end.Sub(start).Seconds()
	if rx.last <= rx.first {
		return res, errors.New("the receiver got nothing during the measurement")
	}
	res.Achieved = float64(rx.bytes) * 8 / (float64(rx.last-rx.first) / 1e9)
	return res, nil
}

// loadSockets opens the load's UDP receiver on the first path's server
// address (kernel receive timestamps on) and its sender, connected to
// it, on the client's.
func loadSockets(tp *lab.Topology) (rfd, sfd int, err error) {
	lp := tp.Paths[0]
	rfd, sfd = -1, -1
	var port int
	if err := tp.Server.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		rfd = fd
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 16<<20)
		_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 100000})
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
			return fmt.Errorf("SO_TIMESTAMPNS: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: lp.Server.V4.As4()}); err != nil {
			return err
		}
		sa, err := unix.Getsockname(fd)
		if err != nil {
			return err
		}
		port = sa.(*unix.SockaddrInet4).Port
		return nil
	}); err != nil {
		closeFDs(rfd)
		return -1, -1, fmt.Errorf("load receiver: %w", err)
	}
	if err := tp.Client.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		sfd = fd
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 4<<20)
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: lp.Client.V4.As4()}); err != nil {
			return err
		}
		return unix.Connect(fd, &unix.SockaddrInet4{Addr: lp.Server.V4.As4(), Port: port})
	}); err != nil {
		closeFDs(rfd, sfd)
		return -1, -1, fmt.Errorf("load sender: %w", err)
	}
	return rfd, sfd, nil
}

// closeFDs closes the descriptors that are open (not negative).
func closeFDs(fds ...int) {
	for _, fd := range fds {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// loadReceiver counts the load's datagrams stamped within [from, to]:
// the bytes of all but the first, over the time from the first to the
// last.
type loadReceiver struct {
	from, to           int64 // Unix nanoseconds
	first, last, bytes int64
}

// run receives until several receive timeouts in a row after stop.
func (rx *loadReceiver) run(fd int, stop *atomic.Bool) {
	bufs := make([][]byte, batch)
	ctrl := make([][]byte, batch)
	iovs := make([]unix.Iovec, batch)
	hdrs := make([]unix.Mmsghdr, batch)
	for i := range bufs {
		bufs[i] = make([]byte, 2048)
		ctrl[i] = make([]byte, 64)
		iovs[i] = unix.Iovec{Base: &bufs[i][0]}
		iovs[i].SetLen(len(bufs[i]))
		hdrs[i].Hdr.Iov = &iovs[i]
		hdrs[i].Hdr.SetIovlen(1)
		hdrs[i].Hdr.Control = &ctrl[i][0]
	}
	idle := 0
	for idle < 5 {
		for i := range hdrs {
			hdrs[i].Hdr.SetControllen(len(ctrl[i]))
		}
		n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&hdrs[0])), batch, 0, 0, 0)
		if errno != 0 {
			if stop.Load() {
				idle++ // several quiet timeouts after the sender stopped: done
			}
			continue
		}
		for i := range int(n) {
			h := &hdrs[i]
			if h.Len >= probeHeader && binary.BigEndian.Uint32(bufs[i]) == loadMagic {
				rx.count(int64(h.Len), ctrl[i][:h.Hdr.Controllen])
			}
		}
	}
}

// count takes one datagram of n bytes with its control messages.
func (rx *loadReceiver) count(n int64, ctrl []byte) {
	ts, ok := rxTimestamp(ctrl)
	if !ok || ts < rx.from || ts > rx.to {
		return
	}
	if rx.first == 0 {
		rx.first = ts
	} else {
		rx.bytes += n + ipUDPHdr
	}
	rx.last = max(rx.last, ts)
}

// minQueued samples queued every millisecond within [from, to] (Unix
// nanoseconds) until stop, and returns the fewest it saw (-1: none).
func minQueued(queued func() int64, from, to int64, stop *atomic.Bool) int64 {
	least := int64(-1)
	for !stop.Load() {
		if now := time.Now().UnixNano(); now >= from && now <= to {
			if q := queued(); least < 0 || q < least {
				least = q
			}
		}
		time.Sleep(time.Millisecond)
	}
	return least
}

// sendLoad offers pps datagrams a second on fd from start for d, paced
// in steps of at most a batch, so the offered load is smooth at the
// scale of the queue, and returns how many it offered.
func sendLoad(ctx context.Context, fd int, pps float64, start time.Time, d time.Duration) int {
	msg := make([]byte, loadSize)
	binary.BigEndian.PutUint32(msg, loadMagic)
	iovs := make([]unix.Iovec, batch)
	hdrs := make([]unix.Mmsghdr, batch)
	for i := range hdrs {
		iovs[i] = unix.Iovec{Base: &msg[0]}
		iovs[i].SetLen(len(msg))
		hdrs[i].Hdr.Iov = &iovs[i]
		hdrs[i].Hdr.SetIovlen(1)
	}
	sent := 0
	for ctx.Err() == nil {
		el := time.Since(start)
		if el >= d {
			break
		}
		due := int(el.Seconds()*pps) + 1 - sent
		if due <= 0 {
			time.Sleep(50 * time.Microsecond)
			continue
		}
		n, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&hdrs[0])), uintptr(min(due, batch)), 0, 0, 0)
		if errno == 0 {
			sent += int(n)
		} else if errno != unix.EINTR {
			sent++ // refused (no buffer): offered all the same
		}
	}
	return sent
}

// latenessBetween returns the lateness of the frames written between two
// snapshots.
func latenessBetween(a, b Counters) Lateness {
	var l Lateness
	for i := range l.Buckets {
		l.Buckets[i] = b.Lateness.Buckets[i] - a.Lateness.Buckets[i]
	}
	return l
}
