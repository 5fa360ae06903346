package scan

import (
	"errors"
	"testing"

	"github.com/mptcp-go/mptcp/wire"
)

func TestMuxDelivery(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		m := newMux(0)
		ch := make(chan event, 4)
		p := testProbe(t, v6, false)
		lport, err := m.register(p.Dst, p.DstPort, ch)
		if err != nil || lport != firstPort {
			t.Fatalf("register: %d %v", lport, err)
		}
		p.SrcPort = lport
		if err := p.Build(); err != nil {
			t.Fatal(err)
		}
		// A SYN/ACK for the probe, one for another port, a time exceeded
		// quoting the probe and an echo reply.
		m.onTCP(p.Dst, answer(p, wire.FlagSYN|wire.FlagACK, p.ISN+1, nil))
		other := *p
		other.SrcPort++
		m.onTCP(p.Dst, answer(&other, wire.FlagSYN|wire.FlagACK, p.ISN+1, nil))
		m.onTCP(p.Src, answer(p, wire.FlagSYN|wire.FlagACK, p.ISN+1, nil)) // from the wrong host
		var icmp, echo []byte
		if v6 {
			icmp = wire.AppendICMPv6(nil, router6, p.Src, wire.ICMPv6TimeExceeded, 0, 0, p.Packet)
			echo = wire.AppendICMPv6(nil, router6, p.Src, wire.ICMPv6EchoReply, 0, 0, p.Packet)
		} else {
			icmp = wire.AppendICMPv4(nil, wire.ICMPv4TimeExceeded, 0, 0, p.Packet)
			echo = wire.AppendICMPv4(nil, wire.ICMPv4EchoReply, 0, 0, p.Packet)
		}
		m.onICMP(router4, v6, echo)
		m.onICMP(router4, v6, icmp)
		if len(ch) != 2 {
			t.Fatalf("v6=%v: %d events delivered, want 2", v6, len(ch))
		}
		if ev := <-ch; ev.tcp == nil || ev.lport != lport {
			t.Errorf("first event %+v, want the SYN/ACK", ev)
		}
		ev := <-ch
		if ev.icmpFrom != router4 || ev.icmpV6 != v6 || !isTimeExceeded(v6, ev.icmpType) || ev.quote.Dst != p.Dst || ev.lport != lport {
			t.Errorf("second event %+v, want the time exceeded", ev)
		}
		// The event owns its quote: clobbering the message leaves it.
		clear(icmp)
		if r := CompareQuote(p, &ev.quote); len(r.Changes) != 0 || r.Coverage != wire.CoverageFullHeader {
			t.Errorf("quote after the buffer was reused: %+v", r)
		}
		m.unregister(p.Dst, p.DstPort, lport)
		m.onTCP(p.Dst, answer(p, wire.FlagSYN|wire.FlagACK, p.ISN+1, nil))
		if len(ch) != 0 {
			t.Error("delivered after unregister")
		}
	}
}

func TestMuxPorts(t *testing.T) {
	m := newMux(numPorts - 1)
	ch := make(chan event, 1)
	a, _ := m.register(them4, 80, ch)
	b, _ := m.register(them4, 80, ch)
	if a != 65535 || b != firstPort {
		t.Errorf("ports %d then %d, want 65535 then %d", a, b, firstPort)
	}
	for range numPorts - 2 {
		if _, err := m.register(them4, 80, ch); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.register(them4, 80, ch); !errors.Is(err, errNoPorts) {
		t.Errorf("register with every port busy: %v", err)
	}
	// Ports are per destination: another target still has all of them.
	if _, err := m.register(them4, 443, ch); err != nil {
		t.Errorf("another destination port: %v", err)
	}
}
