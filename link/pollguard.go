package link

import "time"

// MaxEagerPolls is how many times in a row a driver polls a stack again
// at once because the stack asked for the current time (or an earlier
// one), before PollGuard makes it wait EagerBackoff of driver time.
const MaxEagerPolls = 64

// EagerBackoff is how long a driver waits, in its own time, after
// MaxEagerPolls immediate polls in a row.
const EagerBackoff = time.Millisecond

// PollGuard keeps a driver from spinning on a stack that keeps asking to
// be polled at the current time. A stack may legitimately ask for "now"
// a few times in a row (it had more to send than one poll sends); one
// that never stops asking has a bug, and without a guard its driver would
// poll it in a loop: a real-time driver at 100% CPU, the simulator
// without its clock ever moving on. With the guard such a stack is polled
// at most MaxEagerPolls+1 times per EagerBackoff of driver time, and a
// stack that behaves is never delayed.
//
// Every driver (link/tun, netsim, test harnesses) passes each answer of
// Poll through its guard, one guard per stack. The zero value is ready.
type PollGuard struct {
	eager    int    // immediate answers in a row
	backoffs uint64 // times the guard deferred a poll
}

// Next returns when the driver should poll the stack again, given that a
// poll at now answered next: next itself when it is zero (no timer) or
// after now; now for an answer at or before now, up to MaxEagerPolls
// times in a row; then now+EagerBackoff, and the count starts again.
func (g *PollGuard) Next(now, next time.Time) time.Time {
	if next.IsZero() || next.After(now) {
		g.eager = 0
		return next
	}
	if g.eager++; g.eager <= MaxEagerPolls {
		return now
	}
	g.eager = 0
	g.backoffs++
	return now.Add(EagerBackoff)
}

// Backoffs returns how many times the guard deferred a poll: nonzero
// only for a stack that kept asking for the current time.
func (g *PollGuard) Backoffs() uint64 { return g.backoffs }
