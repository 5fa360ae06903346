package scan

import (
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

// Source ports of probes are taken from above Linux's default ephemeral
// range (32768-60999), so that they do not collide with the connections
// of the scanning host's own kernel.
const (
	firstPort = 61000
	numPorts  = 65536 - firstPort
)

// errNoPorts reports that every probe port towards a destination is in use.
var errNoPorts = errors.New("scan: all probe source ports are in use")

// flowKey identifies the probes' half of a flow: who was probed on which
// port, from which local port.
type flowKey struct {
	remote       netip.Addr
	rport, lport uint16
}

// event is one received packet that may answer a probe.
type event struct {
	at    time.Time
	lport uint16
	// tcp is a TCP segment from the probed address and port.
	tcp []byte
	// For an ICMP error quoting a probe: who sent it, what it is, and
	// the quote (whose bytes the event owns).
	icmpFrom           netip.Addr
	icmpV6             bool
	icmpType, icmpCode uint8
	quote              wire.ICMPQuote
}

// mux hands received packets to the probes waiting for them. Receivers
// look a packet up by its flow and copy it only when someone waits.
type mux struct {
	mu      sync.Mutex
	waiters map[flowKey]chan<- event
	next    uint16
}

func newMux(seed uint16) *mux {
	return &mux{waiters: make(map[flowKey]chan<- event), next: seed % numPorts}
}

// register allocates a local port for a probe of remote:rport whose
// answers go to ch.
func (m *mux) register(remote netip.Addr, rport uint16, ch chan<- event) (uint16, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for range numPorts {
		lport := firstPort + m.next
		m.next = (m.next + 1) % numPorts
		k := flowKey{remote, rport, lport}
		if _, busy := m.waiters[k]; !busy {
			m.waiters[k] = ch
			return lport, nil
		}
	}
	return 0, errNoPorts
}

func (m *mux) unregister(remote netip.Addr, rport, lport uint16) {
	m.mu.Lock()
	delete(m.waiters, flowKey{remote, rport, lport})
	m.mu.Unlock()
}

// deliver passes the event make builds to the waiter of k, if there is
// one. It never blocks: a waiter that is not reading loses the event, as a
// packet is lost on a full queue.
func (m *mux) deliver(k flowKey, mk func() event) {
	m.mu.Lock()
	ch := m.waiters[k]
	m.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case ch <- mk():
	default:
	}
}

// onTCP handles a TCP segment received from remote.
func (m *mux) onTCP(remote netip.Addr, b []byte) {
	t, err := wire.ParseTCP(b)
	if err != nil {
		return
	}
	k := flowKey{remote, t.SrcPort(), t.DstPort()}
	m.deliver(k, func() event {
		return event{at: time.Now(), lport: k.lport, tcp: append([]byte(nil), b...)}
	})
}

// onICMP handles an ICMP message received from a router or host.
func (m *mux) onICMP(from netip.Addr, v6 bool, b []byte) {
	var typ, code uint8
	var q wire.ICMPQuote
	var err error
	if v6 {
		msg, perr := wire.ParseICMPv6(b)
		if perr != nil || !deliverable(true, msg.Type()) {
			return
		}
		typ, code = msg.Type(), msg.Code()
		q, err = msg.Quote()
	} else {
		msg, perr := wire.ParseICMPv4(b)
		if perr != nil || !deliverable(false, msg.Type()) || !msg.ValidChecksum() {
			return
		}
		typ, code = msg.Type(), msg.Code()
		q, err = msg.Quote()
	}
	if err != nil || q.Protocol != wire.ProtoTCP || q.LaterFragment() {
		return
	}
	qt := q.TCP()
	sport, ok1 := qt.SrcPort()
	dport, ok2 := qt.DstPort()
	if !ok1 || !ok2 {
		return
	}
	k := flowKey{q.Dst, dport, sport}
	m.deliver(k, func() event {
		// Copy the quote out of the receive buffer.
		ipLen := len(q.IPHeader)
		buf := append(append([]byte(nil), q.IPHeader...), q.Transport...)
		q.IPHeader, q.Transport = buf[:ipLen:ipLen], buf[ipLen:]
		return event{at: time.Now(), lport: sport, icmpFrom: from, icmpV6: v6, icmpType: typ, icmpCode: code, quote: q}
	})
}

// deliverable reports whether an ICMP type says something about a probe's
// fate: unreachable, time exceeded and parameter problem do; packet too big
// (a SYN is small), redirects and source quench do not.
func deliverable(v6 bool, typ uint8) bool {
	if v6 {
		return typ == wire.ICMPv6DestUnreachable || typ == wire.ICMPv6TimeExceeded || typ == wire.ICMPv6ParamProblem
	}
	return typ == wire.ICMPv4DestUnreachable || typ == wire.ICMPv4TimeExceeded || typ == wire.ICMPv4ParamProblem
}

// isTimeExceeded reports whether an ICMP type is time exceeded.
func isTimeExceeded(v6 bool, typ uint8) bool {
	if v6 {
		return typ == wire.ICMPv6TimeExceeded
	}
	return typ == wire.ICMPv4TimeExceeded
}
