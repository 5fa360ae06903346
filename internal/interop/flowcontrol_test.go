//go:build linux

package interop

// finish ends a case: it checks connection-level flow control on the
// wire, once the driver stopped and the capture is complete.
func (e *env) finish() {
	e.t.Helper()
	if e.stopped {
		e.checkFlowControl()
	}
}

// checkFlowControl checks that neither side sent data beyond the other's
// connection-level window.
func (e *env) checkFlowControl() {
	e.t.Helper()
	ours, kernel, ok := e.windowOverruns()
	if !ok {
		return
	}
	if kernel.over > 0 {
		e.t.Errorf("the kernel sent %d of %d data segments beyond our connection-level window (first: %s)", kernel.over, kernel.segs, kernel.first)
	}
	// (Finding F6, fixed in bfef9db.)
	if ours.over > 0 {
		e.t.Errorf("we sent %d of %d data segments beyond the kernel's connection-level window (first: %s)", ours.over, ours.segs, ours.first)
	}
	// (Late data is judged on our side only: the capture shows what we
	// knew when we sent, not what the kernel knew when it did.)
	// (Finding F7, fixed in a1c4443.)
	if ours.late > 0 {
		e.t.Errorf("we sent %d data segments late: after our DATA_FIN with data the kernel had acknowledged, or on a subflow the kernel had closed (first: %s)", ours.late, ours.firstLate)
	}
}
