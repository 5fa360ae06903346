package torture

import (
	"fmt"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/internal/simtest"
)

// Outcome is how one run ended.
type Outcome string

// The outcomes.
const (
	Completed Outcome = "completed" // every byte, once, intact, and EOF both ways
	Corrupted Outcome = "corrupted" // a byte read differed from the byte sent
	Ended     Outcome = "ended"     // closed with an error before the end, nothing corrupted
	Stuck     Outcome = "stuck"     // none of these within the time limit
)

// Transfer sizes and the virtual time limit of a run.
const (
	UpBytes   = 256 << 10
	DownBytes = 1 << 20
	Limit     = 3 * time.Minute
)

// Run runs case c with one seed and reports the outcome and, when it is
// not a completion, what went wrong.
func Run(c *Case, seed uint64) (Outcome, string) {
	_, o, d := run(c, seed)
	return o, d
}

// run is Run that also returns the network, for tests to read its
// counters.
func run(c *Case, seed uint64) (*simtest.Net, Outcome, string) {
	n, err := simtest.NewNet(seed, c.paths(), c.Options)
	if err != nil {
		return nil, Stuck, fmt.Sprintf("set-up: %v", err)
	}
	if c.Install != nil {
		c.Install(n)
	}
	p, err := n.StartTransfer(UpBytes, DownBytes, core.ConnOptions{})
	if err != nil {
		return n, Stuck, fmt.Sprintf("dial: %v", err)
	}
	if c.During != nil {
		n.Sim.RunFor(c.DuringAt)
		c.During(n)
	}
	n.RunUntilDone(p, Limit)
	check := p.Check(UpBytes, DownBytes)
	switch {
	case p.C.Bad > 0 || p.S != nil && p.S.Bad > 0:
		return n, Corrupted, check.Error()
	case check == nil:
		return n, Completed, ""
	case closed(p.C) && (p.S == nil || closed(p.S)):
		return n, Ended, check.Error()
	}
	return n, Stuck, check.Error()
}

func closed(e *simtest.Endpoint) bool { return e.Conn.State() == core.StateClosed }
