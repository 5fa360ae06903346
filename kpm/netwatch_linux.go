//go:build linux

package kpm

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// NetWatcher reports changes to interfaces and addresses.
type NetWatcher struct {
	c *netlink.Conn
}

// WatchNet subscribes to link and address changes. Take the Snapshot after
// WatchNet, so that nothing is missed between the two.
func WatchNet(cfg *Config) (*NetWatcher, error) {
	ncfg := netlink.Config{
		Groups: unix.RTMGRP_LINK | unix.RTMGRP_IPV4_IFADDR | unix.RTMGRP_IPV6_IFADDR,
	}
	if cfg != nil {
		ncfg.NetNS = cfg.NetNS
	}
	c, err := netlink.Dial(unix.NETLINK_ROUTE, &ncfg)
	if err != nil {
		return nil, opError("subscribe to rtnetlink", err)
	}
	_ = c.SetReadBuffer(eventBuffer)
	return &NetWatcher{c: c}, nil
}

// Receive blocks until changes arrive. An overrun of the socket buffer is
// reported as ErrEventsLost: the caller should take a new Snapshot.
func (w *NetWatcher) Receive() ([]NetChange, error) {
	msgs, err := w.c.Receive()
	if err != nil {
		if errors.Is(err, unix.ENOBUFS) {
			return nil, ErrEventsLost
		}
		return nil, opError("receive rtnetlink changes", err)
	}
	var out []NetChange
	for _, m := range msgs {
		ch, ok, err := parseNetMessage(m)
		if err != nil {
			return out, err
		}
		if ok {
			out = append(out, ch)
		}
	}
	return out, nil
}

// SetReadDeadline makes a blocked Receive return a timeout error at t.
func (w *NetWatcher) SetReadDeadline(t time.Time) error { return w.c.SetReadDeadline(t) }

// Close closes the watcher, which also ends a blocked Receive.
func (w *NetWatcher) Close() error { return w.c.Close() }

func parseNetMessage(m netlink.Message) (NetChange, bool, error) {
	switch m.Header.Type {
	case unix.RTM_NEWLINK, unix.RTM_DELLINK:
		var lm rtnetlink.LinkMessage
		if err := lm.UnmarshalBinary(m.Data); err != nil {
			return NetChange{}, false, fmt.Errorf("decode rtnetlink link message: %w", err)
		}
		l := linkFrom(lm)
		return NetChange{Link: &l, Deleted: m.Header.Type == unix.RTM_DELLINK}, true, nil
	case unix.RTM_NEWADDR, unix.RTM_DELADDR:
		var am rtnetlink.AddressMessage
		if err := am.UnmarshalBinary(m.Data); err != nil {
			return NetChange{}, false, fmt.Errorf("decode rtnetlink address message: %w", err)
		}
		a, ok := addrFrom(am)
		if !ok {
			return NetChange{}, false, nil
		}
		return NetChange{Addr: &a, Deleted: m.Header.Type == unix.RTM_DELADDR}, true, nil
	}
	return NetChange{}, false, nil
}

func linkFrom(lm rtnetlink.LinkMessage) Link {
	l := Link{
		Index: int(lm.Index),
		// IFF_LOWER_UP is the carrier itself; IFF_RUNNING follows it
		// through the kernel's link watch, up to a second late, while
		// packets already flow.
		Up:       lm.Flags&unix.IFF_UP != 0 && lm.Flags&unix.IFF_LOWER_UP != 0,
		Loopback: lm.Flags&unix.IFF_LOOPBACK != 0,
	}
	if lm.Attributes != nil {
		l.Name = lm.Attributes.Name
	}
	return l
}

func addrFrom(am rtnetlink.AddressMessage) (Addr, bool) {
	if am.Attributes == nil {
		return Addr{}, false
	}
	// IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer's
	// on a point-to-point link, and the only one on IPv6.
	ip := am.Attributes.Local
	if ip == nil {
		ip = am.Attributes.Address
	}
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return Addr{}, false
	}
	if am.Family == unix.AF_INET {
		a = a.Unmap()
	}
	flags := uint32(am.Flags)
	if am.Attributes.Flags != 0 {
		flags = am.Attributes.Flags
	}
	return Addr{
		Index:  int(am.Index),
		Prefix: netip.PrefixFrom(a, int(am.PrefixLength)),
		Scope:  am.Scope,
		Flags:  flags,
	}, true
}

// Snapshot lists the current interfaces and addresses.
func Snapshot(cfg *Config) ([]Link, []Addr, error) {
	var ncfg netlink.Config
	if cfg != nil {
		ncfg.NetNS = cfg.NetNS
	}
	c, err := rtnetlink.Dial(&ncfg)
	if err != nil {
		return nil, nil, opError("open rtnetlink", err)
	}
	defer c.Close()
	lms, err := c.Link.List()
	if err != nil {
		return nil, nil, opError("list interfaces", err)
	}
	ams, err := c.Address.List()
	if err != nil {
		return nil, nil, opError("list addresses", err)
	}
	links := make([]Link, 0, len(lms))
	for _, lm := range lms {
		links = append(links, linkFrom(lm))
	}
	addrs := make([]Addr, 0, len(ams))
	for _, am := range ams {
		if a, ok := addrFrom(am); ok {
			addrs = append(addrs, a)
		}
	}
	return links, addrs, nil
}
