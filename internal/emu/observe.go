package emu

import "sync/atomic"

// An observation is one frame's fate as the emulator's own clock saw it.
// Tests install observeHook to check the link model's promises on a live
// emulator (never released before its delay, never more than the rate)
// with the emulator's stamps rather than the wall clock, so the checks
// hold however loaded the machine is.
type observation struct {
	flow     string   // "a/up"
	size     int      // bytes the link model counted
	admitted int64    // when it entered its flow's first pipe (ns on the loop clock)
	due      int64    // forwarded: when the model released it from its last pipe
	written  int64    // forwarded: when the loop wrote it (0 for a drop)
	dropped  bool     // dropped rather than forwarded
	why      dropKind // for a drop, the counter it went to
	at       int64    // for a drop, the time of the event that dropped it
}

// observeHook, when set by a test, sees every frame the emulator
// forwards and every frame a pipe drops. It runs on the loops' threads.
var observeHook atomic.Pointer[func(observation)]
