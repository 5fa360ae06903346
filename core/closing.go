package core

import (
	"time"

	"github.com/mptcp-go/mptcp/tcp"
)

// Closing a subflow while the connection goes on (RFC 8684 section
// 3.4.2): after REMOVE_ADDR, or when the path manager drops a path. The
// subflow stops taking data at once and what it had outstanding is sent
// again elsewhere; then it closes with a FIN, as a courtesy to
// middleboxes, and is reset only if that does not end in time.

// closeGrace bounds the FIN exchange of a closing subflow.
const closeGrace = 3 * time.Second

// stopUsing takes the subflow out of scheduling and reinjects its data;
// it is closed (or, if reset, reset) once the REMOVE_ADDR queued for it
// has been sent.
func (sf *subflow) stopUsing(now time.Time, reset bool) {
	if sf.closed || sf.closing {
		return
	}
	sf.closing = true
	sf.closeAfterRm, sf.resetAfterRm = true, reset
	sf.closeBy = now.Add(closeGrace)
	sf.conn.reinjectFrom(sf)
	sf.conn.markDirty()
}

// closeGracefully closes the subflow with a FIN now.
func (sf *subflow) closeGracefully(now time.Time) {
	if sf.closed {
		return
	}
	if !sf.closing {
		sf.closing = true
		sf.closeBy = now.Add(closeGrace)
		sf.conn.reinjectFrom(sf)
	}
	sf.closeAfterRm = false
	if sf.tc == nil || sf.conn.stack.hookDepth > 0 {
		sf.finPending = true // from poll, outside the engine's hooks
		sf.conn.markDirty()
		return
	}
	sf.finPending = false
	// What the subflow has not sent yet goes elsewhere (reinjectFrom
	// queued it when the closing began), not after the FIN of a peer that
	// closed the subflow: that peer would answer each segment with a RST
	// (RFC 8684 section 3.3.3: a subflow's FIN ends that subflow).
	sf.dropUnsent()
	_ = sf.tc.CloseWrite()
}

// closingTimers drives a closing subflow from the connection's poll.
func (sf *subflow) closingTimers(now time.Time) {
	if !sf.closing || sf.closed {
		return
	}
	c := sf.conn
	switch {
	case sf.closeAfterRm && len(c.rmQ) == 0:
		if sf.resetAfterRm {
			sf.abort()
			return
		}
		sf.closeGracefully(now)
	case sf.finPending:
		sf.closeGracefully(now)
	case !now.Before(sf.closeBy):
		sf.abort()
	}
}

// dropUnsent discards the mappings the subflow was given and has not
// started to send: their data goes (or went) over other subflows. A
// mapping partly sent is sent whole while the peer still reads the
// subflow: the peer holds its header, which covers its whole range (RFC
// 8684 section 3.3.1), and new data there would contradict it (the kernel
// counts DSSNotMatching). After the peer's FIN it reads nothing more
// there (the kernel resets on new data), so everything unsent goes.
func (sf *subflow) dropUnsent() {
	tc := sf.tc
	if tc == nil || sf.closed {
		return
	}
	un := tc.Unsent()
	if un == 0 {
		return
	}
	cut := tc.SendOffset() - uint64(un)
	if m, ok := sf.tx.lookup(cut); ok && m.off < cut && !sf.peerFIN {
		cut = m.end()
	}
	if tc.DropUnsent(cut) > 0 {
		sf.tx.truncate(cut)
	}
}

// finDelivered reports whether the peer acknowledged every byte written
// and the end of the stream: the DATA_FIN, or the FIN of a connection
// that fell back to TCP.
func (c *Conn) finDelivered() bool {
	switch {
	case c.state == StateClosed:
		return true
	case !c.fallen:
		return c.snd.finAcked
	}
	for _, sf := range c.subflows {
		if sf.tc == nil || sf.closed {
			continue
		}
		switch sf.tc.State() {
		case tcp.StateFinWait2, tcp.StateTimeWait, tcp.StateClosed:
		default:
			return false
		}
	}
	return true
}
