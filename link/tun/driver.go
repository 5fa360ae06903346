package tun

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mptcp-go/mptcp/link"
	"github.com/mptcp-go/mptcp/pcap"
)

// Config configures a Driver.
type Config struct {
	// Interfaces are the devices the driver runs, at least one.
	Interfaces []Interface

	// Locker, if set, is held while the driver calls the stack: once
	// around the delivery of the packets at hand and the poll that
	// follows, not once per packet, and never while the driver writes to
	// a device. An application that calls into a stack without a lock of
	// its own (package tcp's Stack) from its own goroutines holds the
	// same lock while it does, then calls Wake. A stack with a lock of its
	// own (a link.Locker, as the mptcp package's Stack.Link) is locked the
	// same way through its own lock: leave Locker nil for it.
	Locker sync.Locker

	// Capture, if set, records every packet delivered to the stack and
	// every packet it sends, stamped with the time the driver passed to
	// the stack. The driver calls it from its loop goroutine only, and
	// stops capturing after the first error, which it reports.
	Capture *pcap.Writer

	// OnError, if set, is called with every device and capture error,
	// one call at a time, from the goroutine running the driver's round
	// (its loop, or a caller of Kick). It must not block, call Close or
	// take Locker. Errors are counted whether or not they are reported;
	// repeated errors of one device are reported at most once a second.
	OnError func(error)

	// ReadAhead is how many read batches each device may fill before the
	// loop takes them (default 4). Each holds the device's batch size of
	// packets.
	ReadAhead int

	// SuperPackets makes the driver handle the virtio-net header itself,
	// reading and writing the devices' files directly, instead of
	// wireguard-go's device doing it. Inbound, the kernel's TSO
	// super-packets reach the stack whole, as single segments of up to
	// 64 KiB, rather than split into MTU-sized segments (the driver
	// finishes the checksums the kernel left to the device), so each
	// costs the stack one segment's work; the stack must accept segments
	// larger than its MSS. Outbound, the driver coalesces each run of
	// consecutive segments of one flow into a super-packet as the stack
	// sends them, with one copy of the payload and no checksum pass. Every
	// device must have the virtio-net header (Create makes it so).
	SuperPackets bool

	// TrustKernelChecksums, with SuperPackets, spares the stack verifying
	// TCP checksums: the driver leaves unfinished the checksums the
	// kernel vouches for (packets it made, whose checksum it left to the
	// device, or whose checksum it verified), which spares a pass over
	// every byte received, verifies every other TCP packet itself,
	// dropping those that fail (Stats.BadChecksums), and tells the stack
	// that what it delivers was verified (link.ChecksumOffloader). A
	// stack that cannot be told gets every checksum finished and verifies
	// them as usual. With a Capture, the captured copies carry finished
	// checksums.
	TrustKernelChecksums bool
}

// With SuperPackets, the driver also completes the TCP checksums of what
// the stack sends: a stack that can leave them partial
// (link.ChecksumOffloader) is told so at New, and the driver hands the
// kernel each such packet as checksum-partial (VIRTIO_NET_HDR_F_NEEDS_CSUM)
// as it does the super-packets, so that nobody sums the payload unless a
// link on the way needs it (the kernel then does). A Capture records
// those packets with their checksums finished.

// ErrClosed is returned by Err after a device failed because it was
// closed by something other than the driver's Close.
var ErrClosed = errors.New("tun: device closed")

// Driver runs a stack on TUN devices with the real clock. It is created
// running; Close stops it. Wake, Stats, InterfaceStats, Err and Close are
// safe from any goroutine.
type Driver struct {
	stack  link.Stack
	locker sync.Locker
	onErr  func(error)
	ifs    []*iface
	router router

	in     chan *batch   // read batches for the loop
	errc   chan error    // reader errors for OnError
	wake   chan struct{} // Wake's doorbell, one slot
	done   chan struct{} // closed by Close
	ended  chan struct{} // closed when the loop returns
	wg     sync.WaitGroup
	closer sync.Once

	// Round state, owned by whoever holds roundMu: the loop goroutine or
	// Kick's caller, one round at a time. Close takes it for
	// good once the loop has ended, so no round runs after the devices
	// close.
	roundMu sync.Mutex
	kicked  atomic.Bool // a round is wanted after the one running
	// handed counts read batches handed to the loop and not yet taken
	// into a round (in the channel in, or received by the loop and
	// waiting for roundMu); a reader runs no round while it is not zero.
	handed   atomic.Int64
	capture  *pcap.Writer
	now      time.Time
	sendFn   func([]byte)
	timer    *time.Timer
	timerAt  time.Time // zero when the timer is stopped
	fine     *fineTimer
	fineAt   time.Time      // the fine timer's deadline, zero when none
	pending  bool           // poll again without waiting
	guard    link.PollGuard // bounds immediate polls in a row
	batches  []*batch       // taken from in, delivered this round
	unpolled int            // bytes delivered since the last poll

	c counters // driver-level: polls, no route

	csumTx  bool   // the stack leaves TCP checksums partial (SuperPackets)
	capCopy []byte // a sent packet's copy for the capture, checksum finished

	mu  sync.Mutex
	err error // first fatal device error
}

// maxBatchesPerRound bounds how many read batches the loop takes at once.
const maxBatchesPerRound = 8

// pollEvery is how many bytes the loop delivers before it polls: a poll
// after several packets answers them with one ACK, as Linux does for a
// GRO super-packet, and the bound keeps ACKs as frequent as Linux's (one
// per 64 KiB at most) so the sender's window keeps moving.
const pollEvery = 64 << 10

// New starts a driver for stack on the configured devices and polls the
// stack at once. The driver owns the devices: Close closes them. A stack
// that wants its driver (link.Attacher, as the mptcp package's
// Stack.Link) is attached to it before the driver first calls it.
func New(stack link.Stack, cfg Config) (*Driver, error) {
	if stack == nil {
		return nil, errors.New("tun: nil stack")
	}
	if len(cfg.Interfaces) == 0 {
		return nil, errors.New("tun: no interfaces")
	}
	if cfg.TrustKernelChecksums && !cfg.SuperPackets {
		return nil, errors.New("tun: TrustKernelChecksums needs SuperPackets")
	}
	readAhead := cfg.ReadAhead
	if readAhead <= 0 {
		readAhead = 4
	}
	d := &Driver{
		stack:   stack,
		locker:  cfg.Locker,
		onErr:   cfg.OnError,
		capture: cfg.Capture,
		router:  newRouter(cfg.Interfaces),
		errc:    make(chan error, 16),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		ended:   make(chan struct{}),
	}
	d.sendFn = d.send
	off, _ := stack.(link.ChecksumOffloader)
	trust := cfg.TrustKernelChecksums && off != nil
	for i, ic := range cfg.Interfaces {
		if ic.Device == nil {
			return nil, fmt.Errorf("tun: interface %d has no device", i)
		}
		f, err := newIface(i, ic, readAhead, rawMode{
			super: cfg.SuperPackets, trust: trust, leavePartial: trust && cfg.Capture == nil,
		})
		if err != nil {
			for _, f := range d.ifs {
				f.freeArenas()
			}
			return nil, err
		}
		d.ifs = append(d.ifs, f)
	}
	d.in = make(chan *batch, readAhead*len(d.ifs))
	d.timer = time.NewTimer(time.Hour)
	d.timer.Stop()
	d.fine = newFineTimer()
	if cfg.SuperPackets {
		d.offload(stack, cfg.Locker, trust)
	}
	if a, ok := stack.(link.Attacher); ok {
		a.Attach(d)
	}
	if l, ok := stack.(link.Locker); ok && d.locker == nil {
		d.locker, d.stack = l, l.Unlocked()
	}
	for _, f := range d.ifs {
		d.wg.Add(1)
		go d.read(f)
		go drainEvents(f.dev, d.done)
	}
	d.wg.Add(2)
	go func() {
		defer d.wg.Done()
		d.fine.run(d.done)
	}()
	go d.loop()
	return d, nil
}

// offload tells the stack, before the driver first calls it, what the
// driver does for it with super-packets: it completes the TCP checksums of
// what it sends and, with trust, what it delivers was verified; it sends
// runs of segments as one super-packet.
func (d *Driver) offload(stack link.Stack, locker sync.Locker, trust bool) {
	if locker != nil {
		locker.Lock()
		defer locker.Unlock()
	}
	if off, ok := stack.(link.ChecksumOffloader); ok {
		off.OffloadChecksums(true, trust)
		d.csumTx = true
		if d.capture != nil {
			d.capCopy = make([]byte, MaxPacket)
		}
	}
	if so, ok := stack.(link.SegmentOffloader); ok {
		so.OffloadSegmentation()
	}
}

// Wake asks the driver to poll the stack soon. It never blocks, and calls
// that come before the driver polls make one poll.
func (d *Driver) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Kick implements link.Kicker: when no round is running it runs one in
// the calling goroutine, polling the stack and writing what it sends, as
// a kernel sends in the writer's system call, and runs another while
// kicks arrive during its own; when a round is running, whoever runs it
// runs another after it. A round it leaves due at once rings the loop's
// doorbell. The caller must not hold the stack's lock.
func (d *Driver) Kick() {
	d.kicked.Store(true)
	d.runKicked()
}

// runKicked runs rounds in the calling goroutine while kicks ask for them
// and no other round is running.
func (d *Driver) runKicked() {
	for d.kicked.Load() && d.tryRound(nil) {
	}
}

// tryRound runs a round with b (nil for none) in the calling goroutine
// when no round is running and the driver is not closing, and reports
// whether it did (b is then taken). A round it leaves due at once rings
// the loop's doorbell.
func (d *Driver) tryRound(b *batch) bool {
	if !d.roundMu.TryLock() {
		return false
	}
	if b != nil && d.handed.Load() != 0 {
		// Older packets of a reader wait for the loop, in its channel
		// or already taken by it: b must not overtake them.
		d.roundMu.Unlock()
		return false
	}
	d.kicked.Store(false)
	if d.closing() {
		d.roundMu.Unlock()
		return false
	}
	d.runRound(b)
	again := d.takePending()
	d.roundMu.Unlock()
	if again {
		d.Wake()
	}
	return true
}

// roundHere runs a round for a reader's lone packet in the reader's
// goroutine when no round is running, and reports whether it did (b is
// then taken). A packet that arrives while the stack is idle (a SYN, a
// request, the ACK that opens the window) is answered without the
// hand-over to the loop, whose goroutine must first be scheduled: 0.05 ms
// of each such crossing in captures of mptcp perf web. The reader stops
// reading for the round, so it takes only lone packets: a batch of
// several is a transfer, whose reads go on while the loop runs. Kicks
// that came during the round it runs rounds for too, as Kick does: the
// application's answer to the packet (a response to a request, the
// request after a SYN/ACK) most often comes while the round writes.
func (d *Driver) roundHere(b *batch) bool {
	if b.n != 1 || !d.tryRound(b) {
		return false
	}
	d.c.readerRounds.Add(1)
	d.runKicked()
	return true
}

// Now implements link.Driver: the driver runs on the real clock.
func (d *Driver) Now() time.Time { return time.Now() }

var _ link.Driver = (*Driver)(nil)

// Close stops the driver, closes its devices and returns once no goroutine
// of the driver is left and the stack will not be called again. It
// returns the devices' close errors.
func (d *Driver) Close() error {
	var err error
	d.closer.Do(func() {
		close(d.done)
		// The loop finishes the round at hand, writes included, before
		// the devices close: what the stack sent in it (the last ACK of
		// a closing connection, say) leaves.
		<-d.ended
		// No Kick runs a round from now on.
		d.roundMu.Lock()
		for _, f := range d.ifs {
			if e := f.dev.Close(); e != nil {
				err = errors.Join(err, fmt.Errorf("tun: close %s: %w", f.name, e))
			}
		}
		d.wg.Wait()
		d.timer.Stop()
		// Readers and rounds are over: the buffers are free.
		for _, f := range d.ifs {
			f.freeArenas()
		}
	})
	return err
}

// Err returns the first error that stopped a device (its reads failed for
// good), or nil. The driver keeps running the other devices.
func (d *Driver) Err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

// Stats returns the driver's counters, summed over its interfaces.
func (d *Driver) Stats() Stats {
	s := d.c.load()
	for _, f := range d.ifs {
		s.add(f.c.load())
	}
	return s
}

// InterfaceStats returns the counters of interface i (in Config order).
func (d *Driver) InterfaceStats(i int) Stats {
	if i < 0 || i >= len(d.ifs) {
		return Stats{}
	}
	return d.ifs[i].c.load()
}

func (d *Driver) closing() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// fail records the first fatal error.
func (d *Driver) fail(err error) {
	d.mu.Lock()
	if d.err == nil {
		d.err = err
	}
	d.mu.Unlock()
}

// report hands an error to OnError; roundMu is held.
func (d *Driver) report(err error) {
	if d.onErr != nil {
		d.onErr(err)
	}
}

// reportAsync queues a reader's error for the loop; if the queue is full
// the error is only counted.
func (d *Driver) reportAsync(err error) {
	select {
	case d.errc <- err:
	default:
	}
}

// drainEvents consumes a device's event channel, which wireguard-go's
// device blocks on when it fills, until the device closes it; after Close
// it drains for a while longer so the device's goroutines can finish.
func drainEvents(dev Device, done <-chan struct{}) {
	ev := dev.Events()
	if ev == nil {
		return
	}
	var grace <-chan time.Time
	for {
		select {
		case _, ok := <-ev:
			if !ok {
				return
			}
		case <-done:
			done = nil
			grace = time.After(5 * time.Second)
		case <-grace:
			return
		}
	}
}
