// Package linkq is the link model that netsim's pipes (virtual time) and
// emu's pipes (the loop clock) share: the drop-tail queue in front of the
// transmitter (DropTail), the transmitter and the wire that draw each
// packet's fate (Line), and the packets in flight (Flight). The two users
// implement the same link semantics on purpose, so that a scenario gives
// the same packets in the simulator and on the emulated network; one copy
// of the model makes that a property of the code rather than of two copies
// kept in step by hand. What differs stays with each user: their packets,
// counters, clocks and middleboxes.
//
// Both users are single-threaded per pipe, so nothing here locks.
package linkq
