// Package linkq holds the queues of the link model that netsim's pipes
// (virtual time) and emu's pipes (the loop clock) share. The two
// implement the same link semantics on purpose, so that a scenario gives
// the same packets in the simulator and on the emulated network; keeping
// one copy of the structures that order packets makes that a property of
// the code rather than of two copies kept in step by hand.
//
// Both users are single-threaded per pipe, so nothing here locks.
package linkq
