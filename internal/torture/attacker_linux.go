//go:build linux

package torture

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/wire"
)

// attacker is the live cases' adversary: it sends raw IPv4 packets from
// its namespace, whatever their source, and it watches path 1 (the
// router mirrors that link onto the attacker's own) as an on-path
// observer would, learning each connection's 4-tuple, sequence numbers,
// timestamps, keys (sent in clear in the MP_CAPABLE handshake) and data
// sequence mapping. IPv4 only.
type attacker struct {
	raw     int              // AF_INET raw socket (IP_HDRINCL)
	tap     int              // AF_PACKET socket on the mirrored link
	servers []netip.AddrPort // ours first, then the kernel's
	sent    atomic.Uint64
	stop    chan struct{}
	tapDone chan struct{}

	mu     sync.Mutex
	target string // Attack.Target of the round
	rng    *rand.Rand
	views  map[[2]netip.AddrPort]*view
}

// view is what the attacker saw of one connection's path-1 subflow, from
// the client's side (toward a server).
type view struct {
	client, server netip.AddrPort
	isn            uint32 // the client's ISN (0 until its SYN was seen)
	synSeen        bool
	next           uint32 // the client's last sequence number + length: the server's RCV.NXT as last seen
	ack            uint32 // the client's last acknowledgment
	win            uint16
	ts             bool
	tsVal, tsEcr   uint32
	clientKey      uint64
	serverKey      uint64
	keys           bool
	dataSeen       bool
	mapDSN         uint64 // the last mapping the client sent
	mapSSN         uint32
	mapLen         uint16
	mapped         bool
	csum           bool
}

// tapBuf holds the largest packet the tap may see: a TSO super-packet
// crosses the mirror whole.
const tapBuf = 1 << 17

func newAttacker(ns lab.Netns, ifname string, servers ...netip.AddrPort) (*attacker, error) {
	a := &attacker{raw: -1, tap: -1, servers: servers, stop: make(chan struct{}), tapDone: make(chan struct{}),
		views: make(map[[2]netip.AddrPort]*view), rng: rand.New(rand.NewPCG(1, 2))}
	err := ns.Do(func() error {
		var err error
		if a.raw, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW); err != nil {
			return fmt.Errorf("torture: raw socket: %w", err)
		}
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		proto := int(htons(unix.ETH_P_ALL))
		if a.tap, err = unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, proto); err != nil {
			return fmt.Errorf("torture: packet socket: %w", err)
		}
		if err := unix.Bind(a.tap, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
			return fmt.Errorf("torture: binding the packet socket to %s: %w", ifname, err)
		}
		_ = unix.SetsockoptInt(a.tap, unix.SOL_SOCKET, unix.SO_RCVBUF, 8<<20)
		tv := unix.NsecToTimeval((100 * time.Millisecond).Nanoseconds())
		return unix.SetsockoptTimeval(a.tap, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	})
	if err != nil {
		a.closeFDs()
		return nil, err
	}
	go a.watch()
	return a, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (a *attacker) closeFDs() {
	for _, fd := range []int{a.raw, a.tap} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

func (a *attacker) close() {
	close(a.stop)
	<-a.tapDone
	a.closeFDs()
}

// reset forgets the connections seen so far, and takes the round's
// target and the seed of its choices.
func (a *attacker) reset(seed uint64, target string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	clear(a.views)
	a.target = target
	a.rng = rand.New(rand.NewPCG(seed, 0x76746f7274))
	a.sent.Store(0)
}

func (a *attacker) sentCount() uint64 { return a.sent.Load() }

// watch reads the tap until close.
func (a *attacker) watch() {
	defer close(a.tapDone)
	buf := make([]byte, tapBuf)
	for {
		select {
		case <-a.stop:
			return
		default:
		}
		n, from, err := unix.Recvfrom(a.tap, buf, 0)
		if err != nil {
			continue // the receive timeout, to look at stop
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue // what the attacker itself sent
		}
		a.learn(buf[:n])
	}
}

// isServer reports whether ap is one of the servers.
func (a *attacker) isServer(ap netip.AddrPort) bool {
	for _, s := range a.servers {
		if s == ap {
			return true
		}
	}
	return false
}

// learn updates the views from one packet seen on the tap.
func (a *attacker) learn(pkt []byte) {
	src, dst, t, err := wire.ParseTCPPacket(pkt)
	if err != nil {
		return
	}
	var o wire.TCPOptions
	if wire.ParseTCPOptions(t.Options(), t.Flags(), &o) != nil {
		return
	}
	from, to := netip.AddrPortFrom(src, t.SrcPort()), netip.AddrPortFrom(dst, t.DstPort())
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.isServer(to):
		a.fromClient(a.view(from, to), t, &o)
	case a.isServer(from):
		v := a.view(to, from)
		if t.Flags().Has(wire.FlagSYN|wire.FlagACK) && o.MPTCP.Has(wire.SubtypeMPCapable) && o.MPTCP.Capable.SenderKey != 0 {
			v.serverKey = o.MPTCP.Capable.SenderKey
		}
	}
}

func (a *attacker) view(client, server netip.AddrPort) *view {
	k := [2]netip.AddrPort{client, server}
	v := a.views[k]
	if v == nil {
		v = &view{client: client, server: server}
		a.views[k] = v
	}
	return v
}

// fromClient learns from a segment the client sent.
func (a *attacker) fromClient(v *view, t wire.TCP, o *wire.TCPOptions) {
	fl := t.Flags()
	end := t.Seq() + uint32(len(t.Payload()))
	if fl&wire.FlagSYN != 0 {
		v.isn, v.synSeen, v.next = t.Seq(), true, t.Seq()+1
		return
	}
	if fl&wire.FlagRST != 0 || !v.synSeen {
		return
	}
	if fl&wire.FlagFIN != 0 {
		end++
	}
	if int32(end-v.next) > 0 {
		v.next = end
	}
	if fl&wire.FlagACK != 0 {
		v.ack = t.Ack()
	}
	v.win = t.Window()
	if o.HasTimestamps {
		v.ts, v.tsVal, v.tsEcr = true, o.TSVal, o.TSEcr
	}
	m := &o.MPTCP
	if m.Has(wire.SubtypeMPCapable) && m.Capable.ReceiverKey != 0 {
		v.clientKey, v.serverKey, v.keys = m.Capable.SenderKey, m.Capable.ReceiverKey, true
		v.csum = m.Capable.Flags&wire.MPCapableChecksum != 0
	}
	if len(t.Payload()) > 0 {
		v.dataSeen = true
	}
	if m.Has(wire.SubtypeDSS) && m.DSS.HasMap && m.DSS.DataLen > 0 && v.keys {
		d := m.DSS.DSN
		if !m.DSS.DSN64 {
			d = expand32(wire.KeyIDSN(v.clientKey), uint32(d))
		}
		v.mapDSN, v.mapSSN, v.mapLen, v.mapped = d, m.DSS.SubflowSeq, m.DSS.DataLen, true
	}
}

// expand32 returns the 64-bit number nearest base whose low 32 bits are low.
func expand32(base uint64, low uint32) uint64 {
	c := base&^0xffffffff | uint64(low)
	switch {
	case int64(c-base) > 1<<31:
		c -= 1 << 32
	case int64(base-c) > 1<<31:
		c += 1 << 32
	}
	return c
}

// ready reports whether the attacker knows enough of v to forge into it.
func (v *view) ready() bool { return v.keys && v.mapped && v.dataSeen && v.ts }

// waitTargets waits until the attacker has seen n connections it can
// forge into, or timeout passes, and returns how many it saw.
func (a *attacker) waitTargets(ctx context.Context, n int, timeout time.Duration) int {
	end := time.Now().Add(timeout)
	for {
		k := len(a.targets())
		if k >= n || !time.Now().Before(end) || ctx.Err() != nil {
			return k
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// targets returns copies of the views it can forge into, the latest
// state of each, limited to the connections to the attack's target.
func (a *attacker) targets() []view {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []view
	for _, v := range a.views {
		if v.ready() && (a.target == "" || (a.target == "ours") == (v.server == a.servers[0])) {
			out = append(out, *v)
		}
	}
	return out
}

// run fires the attack, and fails if it sent nothing.
func (a *attacker) run(at *Attack) error {
	if err := at.fire(a); err != nil {
		return err
	}
	if a.sent.Load() == 0 {
		return errors.New("sent nothing")
	}
	return nil
}

// pace sends n packets made by mk at rate packets per second at most,
// stopping early when mk returns nil.
func (a *attacker) pace(n, rate int, mk func(i int) []byte) error {
	const tick = 10 * time.Millisecond
	per := max(1, rate/int(time.Second/tick))
	t := time.NewTicker(tick)
	defer t.Stop()
	for i := 0; i < n; {
		for k := 0; k < per && i < n; k, i = k+1, i+1 {
			pkt := mk(i)
			if pkt == nil {
				return nil
			}
			if err := a.send(pkt); err != nil {
				return err
			}
		}
		<-t.C
	}
	return nil
}

// send hands one IPv4 packet to the raw socket; the kernel routes it by
// its destination (and fills in the IP header's length and checksum).
func (a *attacker) send(pkt []byte) error {
	h, err := wire.ParseIPv4(pkt)
	if err != nil {
		return fmt.Errorf("torture: forged packet: %w", err)
	}
	to := &unix.SockaddrInet4{Addr: h.Dst().As4()}
	if err := unix.Sendto(a.raw, pkt, 0, to); err != nil {
		if errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.EPERM) {
			return nil // a full queue, a filter: the packet is lost, as on a wire
		}
		return fmt.Errorf("torture: sending a forged packet: %w", err)
	}
	a.sent.Add(1)
	return nil
}

// intn returns a random number in [0, n) from the round's generator.
func (a *attacker) intn(n int) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rng.IntN(n)
}

func (a *attacker) u32() uint32 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rng.Uint32()
}

func (a *attacker) u64() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rng.Uint64()
}

// spoofed returns a random source in the blackholed prefix: answers to it
// reach the attacker's namespace and die there.
func (a *attacker) spoofed() netip.AddrPort {
	b := blackholePrefix.Addr().As4()
	b[2], b[3] = byte(a.intn(256)), byte(1+a.intn(254))
	return netip.AddrPortFrom(netip.AddrFrom4(b), uint16(1024+a.intn(60000)))
}
