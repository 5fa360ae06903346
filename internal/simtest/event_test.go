package simtest

import (
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
)

// TestEvents has a client with two paths download from a server with two
// addresses and checks the events both stacks emit: the kernel's
// sequence (CREATED, ESTABLISHED, ANNOUNCED, SF_ESTABLISHED, CLOSED) with
// the connection's token, and scheduling decisions that cover the data.
func TestEvents(t *testing.T) {
	var cev, sev []core.Event
	n, err := NewNet(7, twoPaths(2), Options{ServerAddrs: 2,
		Client: func(c *core.Config) { c.Events = func(ev core.Event) { cev = append(cev, ev) } },
		Server: func(c *core.Config) { c.Events = func(ev core.Event) { sev = append(sev, ev) } },
	})
	if err != nil {
		t.Fatal(err)
	}
	const down = 1 << 20
	p, err := n.StartTransfer(0, down, core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.RunUntilDone(p, 60*time.Second)
	if err := p.Check(0, down); err != nil {
		t.Fatal(err)
	}
	n.Sim.RunFor(5 * time.Second)
	count := func(evs []core.Event) map[core.EventType]int {
		m := map[core.EventType]int{}
		for _, e := range evs {
			m[e.Type]++
		}
		return m
	}
	cm, sm := count(cev), count(sev)
	for _, c := range []struct {
		name string
		m    map[core.EventType]int
		t    core.EventType
		min  int
	}{
		{"client CREATED", cm, core.EventCreated, 1}, {"client ESTABLISHED", cm, core.EventEstablished, 1},
		{"client ANNOUNCED", cm, core.EventAnnounced, 1}, {"client SF_ESTABLISHED", cm, core.EventSubEstablished, 2},
		{"client CLOSED", cm, core.EventClosed, 1},
		{"server LISTENER_CREATED", sm, core.EventListenerCreated, 1}, {"server CREATED", sm, core.EventCreated, 1},
		{"server ESTABLISHED", sm, core.EventEstablished, 1}, {"server SF_ESTABLISHED", sm, core.EventSubEstablished, 2},
		{"server CLOSED", sm, core.EventClosed, 1},
	} {
		if c.m[c.t] < c.min {
			t.Errorf("%s: %d events, want at least %d (all: %v)", c.name, c.m[c.t], c.min, c.m)
		}
	}
	if cev[0].Type != core.EventCreated || cev[1].Type != core.EventEstablished {
		t.Errorf("client's first events %v, %v; want CREATED, ESTABLISHED", cev[0].Type, cev[1].Type)
	}
	token := p.C.Conn.Info().LocalToken
	var scheduled int
	for _, e := range sev {
		if e.Type == core.EventScheduled {
			scheduled += e.Len
		}
		if e.Type == core.EventSubEstablished && (!e.Server || e.Local.Port() != 80 || e.Subflow <= 0) {
			t.Errorf("server SF_ESTABLISHED %+v: want server side, port 80, a join's subflow ID", e)
		}
	}
	for _, e := range cev {
		if e.Type.Kernel() && e.Type != core.EventListenerCreated && e.Token != token {
			t.Errorf("client event %v with token %08x, want %08x", e.Type, e.Token, token)
		}
	}
	if scheduled < down {
		t.Errorf("server scheduled %d bytes, sent %d", scheduled, down)
	}
}

// TestEventSinkAllocs checks that handing events to a sink allocates
// nothing: the whole transfer allocates no more with a sink than without.
func TestEventSinkAllocs(t *testing.T) {
	run := func(sink bool) float64 {
		n, err := NewNet(3, twoPaths(1), Options{Server: func(c *core.Config) {
			if sink {
				var last core.Event
				c.Events = func(ev core.Event) { last = ev; _ = last }
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.StartTransfer(0, 256<<10, core.ConnOptions{}); err != nil {
			t.Fatal(err)
		}
		n.Sim.RunFor(200 * time.Millisecond) // handshake, slices grown
		return testing.AllocsPerRun(1, func() { n.Sim.RunFor(500 * time.Millisecond) })
	}
	without, with := run(false), run(true)
	if with > without {
		t.Errorf("a transfer allocates %v times with an event sink, %v without", with, without)
	}
}
