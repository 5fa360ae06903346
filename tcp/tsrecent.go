package tcp

import "time"

// TS.Recent (RFC 7323 section 4.3) is taken from segments that pass the
// acceptability checks, and those an attacker who knows the sequence
// numbers can forge. One accepted segment whose TSval lies far ahead
// (by up to 2^31) would make every later segment of the real peer fail
// PAWS, and the connection would stall for good: the checks of RFC 5961
// bound what a blind attacker can do with sequence and acknowledgment
// numbers, nothing bounds the timestamp. Two defences, neither of them in
// Linux (whose tcp_replace_ts_recent takes any TSval of such a segment):
//
//   - a TSval further ahead of TS.Recent than the fastest timestamp clock
//     in use (Linux's tcp_usec_ts: one tick per microsecond; RFC 7323
//     section 5.4 asks for one per millisecond at most) can have moved
//     since TS.Recent was taken, plus a second's worth for the difference
//     in delay between the two segments, cannot come from the peer: the
//     segment is dropped, counted (TSJumpDrops) and answered with a
//     challenge ACK (RFC 5961 section 7) telling the real peer where we
//     stand;
//   - a smaller jump is taken, but the value TS.Recent had before it is
//     kept: a segment that fails PAWS only against the new value while
//     being newer than the previous one is accepted, and TS.Recent goes
//     back to its TSval (PAWSRollbacks). Old duplicates of a wrapped
//     sequence space, which PAWS exists to stop, are older than both.

// tsJumpSlack is the timestamp advance allowed beyond the clock rate: a
// second at the fastest clock.
const tsJumpSlack = 1 << 20

// initTSRecent sets TS.Recent from the handshake.
func (c *Conn) initTSRecent(tsval uint32, now time.Duration) {
	c.tsRecent, c.tsPrev, c.tsRecentAge = tsval, tsval, now
}

// updateTSRecent takes tsval as TS.Recent, keeping the value it replaces.
func (c *Conn) updateTSRecent(tsval uint32, now time.Duration) {
	if tsval != c.tsRecent {
		c.tsPrev = c.tsRecent
	}
	c.tsRecent, c.tsRecentAge = tsval, now
}

// tsImplausible reports whether tsval is further ahead of TS.Recent than
// the peer's clock can have advanced since TS.Recent was taken.
func (c *Conn) tsImplausible(tsval uint32, now time.Duration) bool {
	ahead := tsval - c.tsRecent
	if int32(ahead) <= 0 {
		return false
	}
	limit := uint64((now-c.tsRecentAge)/time.Microsecond) + tsJumpSlack
	return limit < 1<<31 && uint64(ahead) > limit
}

// pawsRecoverable reports whether a segment that failed PAWS is newer than
// TS.Recent's previous value, so that the last jump, not the segment, is
// suspect.
func (c *Conn) pawsRecoverable(tsval uint32) bool {
	return c.tsPrev != c.tsRecent && seqGE(tsval, c.tsPrev)
}
