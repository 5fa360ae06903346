//go:build linux

package interop

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// known reports whether a case must step around a known interop bug,
// and if so logs it; the case ends with e.finish, which skips it naming
// the finding. INTEROP_RUN_KNOWN=1 runs such cases in full, to see
// whether the bug is still there.
func (e *env) known(id, what string) bool {
	if os.Getenv("INTEROP_RUN_KNOWN") != "" {
		e.t.Logf("running into known interop bug %s: %s", id, what)
		return false
	}
	msg := fmt.Sprintf("known interop bug %s: %s; see /work/notes/interop-findings.md", id, what)
	if !slices.Contains(e.skips, msg) {
		e.skips = append(e.skips, msg)
	}
	return true
}

// finish ends a case: it checks connection-level flow control on the
// wire (once the driver stopped and the capture is complete), then skips,
// naming the findings, if the case stepped around any.
func (e *env) finish() {
	e.t.Helper()
	if e.stopped {
		e.checkFlowControl()
	}
	if len(e.skips) > 0 {
		e.t.Skip(strings.Join(e.skips, "; "))
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
