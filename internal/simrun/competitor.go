package simrun

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/scenario"
)

// competitorEnds receives the two ends of competitor i's connection:
// the server's, which sends, once accepted, and the competitor's, which
// receives, once dialled. It returns the function the connection's
// notifications call.
type competitorEnds func(i int, c *core.Conn, send bool) (notify func())

// startCompetitors sets up the scenario's competing single-path TCP flows,
// each dialled from its host at start: a plain-TCP client stack on the
// competitor's host, and a plain-TCP server stack of its own on the server
// host, running the competitor's congestion control rather than the MPTCP
// connection's, which srv routes the competitor's packets to. It returns
// the congestion controls the server stacks run.
func startCompetitors(sim *netsim.Sim, sc *scenario.Scenario, top *scenario.Topology, srv *demux, start time.Time, ends competitorEnds, fail func(error)) ([]string, error) {
	var ccs []string
	for i, comp := range sc.Competitors {
		node := top.Competitors[i]
		cfg := core.Config{DisableMPTCP: true, CongestionControl: comp.CC}
		st, err := newStackOn(node.Host, cfg, node.Addr)
		if err != nil {
			return nil, fmt.Errorf("competitor %s: %w", comp.Name, err)
		}
		cs, err := stackOn(top.Server, cfg, top.ServerAddr)
		if err != nil {
			return nil, fmt.Errorf("competitor %s: %w", comp.Name, err)
		}
		ccs = append(ccs, cs.Config().CongestionControl)
		ln, err := cs.Listen(netip.AddrPortFrom(top.ServerAddr, Port))
		if err != nil {
			return nil, fmt.Errorf("competitor %s server: %w", comp.Name, err)
		}
		ln.SetNotify(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					if !errors.Is(err, core.ErrWouldBlock) {
						fail(fmt.Errorf("competitor %s accept: %w", comp.Name, err))
					}
					return
				}
				c.SetNotify(ends(i, c, true))
				top.Server.Wake()
			}
		})
		srv.add(node.Addr, cs)
		sim.Schedule(start, func() {
			c, err := st.Dial(sim.Now(), node.Addr, netip.AddrPortFrom(top.ServerAddr, Port), core.ConnOptions{DisableMPTCP: true})
			if err != nil {
				fail(fmt.Errorf("competitor %s dial: %w", comp.Name, err))
				return
			}
			c.SetNotify(ends(i, c, false))
			node.Host.Wake()
		})
	}
	return ccs, nil
}
