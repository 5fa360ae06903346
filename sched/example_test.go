package sched_test

import (
	"fmt"
	"time"

	"github.com/mptcp-go/mptcp/sched"
)

// mostRoom sends each chunk on the subflow with the most free congestion
// window: a whole scheduler in one file. It reuses the rules every
// scheduler shares (usable, not stale, backups only as a last resort)
// through sched.Eligible, and the default choice for reinjection.
type mostRoom struct{ buf []int }

func (*mostRoom) Name() string { return "mostroom" }

func (m *mostRoom) Send(_ time.Time, c sched.Conn, dst []int) []int {
	m.buf = sched.Eligible(c.Subflows, -1, m.buf[:0])
	best := -1
	for _, i := range m.buf {
		if room := c.Subflows[i].Room; room > 0 && (best < 0 || room > c.Subflows[best].Room) {
			best = i
		}
	}
	if best < 0 {
		return dst // nothing has room: wait
	}
	return append(dst, best)
}

func (*mostRoom) Reinject(_ time.Time, c sched.Conn, from int, dst []int) []int {
	if i := sched.Pick(c.Subflows, from); i >= 0 {
		dst = append(dst, i)
	}
	return dst
}

// A researcher's scheduler registers itself by name from init; it is then
// selectable everywhere a name is: core.Config.Scheduler, mptcp.Config,
// a scenario file's "scheduler:" key and "mptcp sim --scheduler".
func Example() {
	sched.Register("mostroom", func() sched.Scheduler { return &mostRoom{} })
	s, err := sched.New("mostroom")
	fmt.Println(s.Name(), err)
	// Output: mostroom <nil>
}
