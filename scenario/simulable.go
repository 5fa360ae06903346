package scenario

import (
	"fmt"

	"github.com/mptcp-go/mptcp/netsim"
)

// Simulable reports whether the simulator can run s: every direction of
// every path and competitor needs a rate or a delay. A link with neither
// delivers in zero time, so the simulated clock would never move while
// data flows (the emulator, in real time, runs such links fine, which is
// why Parse accepts them).
func (s *Scenario) Simulable() error {
	check := func(at string, l Link) error {
		for _, d := range []struct {
			name string
			p    netsim.PipeConfig
		}{{"", l.Down}, {".up", l.Up}} {
			if d.p.Rate == 0 && d.p.Delay == 0 {
				return fmt.Errorf("%w: %s%s: the simulator needs a rate or a delay (a link with neither takes no time, so simulated time could not advance)", ErrInvalid, at, d.name)
			}
		}
		return nil
	}
	for i, p := range s.Paths {
		if err := check(fmt.Sprintf("paths[%d]", i), p.Link); err != nil {
			return err
		}
	}
	for i, c := range s.Competitors {
		if err := check(fmt.Sprintf("competitors[%d]", i), c.Link); err != nil {
			return err
		}
	}
	return nil
}
