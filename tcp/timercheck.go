package tcp

import "fmt"

// CheckTimers reports a connection that waits for something no armed
// timer will end: data in flight with no retransmission, probe or
// reordering timer; data waiting for a closed window with nothing in
// flight and no persist timer; TIME-WAIT with no timer to end it. Such a
// connection waits for ever if the one packet that would wake it is lost
// (the persist timer was once armed only after sending or an ACK, not
// when data was written into a closed window). Test harnesses call it
// after every poll; it costs a pass over the connections.
func (s *Stack) CheckTimers() error {
	for _, c := range s.conns {
		if err := c.checkTimers(); err != nil {
			return fmt.Errorf("tcp: %v -> %v (%v): %w", c.local, c.remote, c.state, err)
		}
	}
	return nil
}

func (c *Conn) checkTimers() error {
	if !c.state.synchronized() || c.state == StateClosed {
		return nil
	}
	switch {
	case c.sndUna < c.sndNxt && c.rtoAt == 0 && c.tlpAt == 0 && c.reoAt == 0:
		return fmt.Errorf("%d bytes in flight and no retransmission, probe or reordering timer", c.sndNxt-c.sndUna)
	case c.sndUna >= c.sndNxt && c.Unsent() > 0 && c.sndWnd == 0 && c.persistAt == 0:
		return fmt.Errorf("%d bytes wait for a closed window with nothing in flight and no persist timer", c.Unsent())
	case c.state == StateTimeWait && c.closeAt == 0:
		return fmt.Errorf("no timer ends %v", c.state)
	}
	return nil
}
