package core

import "time"

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
