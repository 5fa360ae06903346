package kpm

import (
	"fmt"

	"github.com/mdlayher/netlink"
)

// Limits are the in-kernel path manager's per-connection limits.
type Limits struct {
	// AddAddrAccepted is how many addresses announced by the peer
	// (ADD_ADDR) each connection accepts and uses for new subflows.
	AddAddrAccepted uint32
	// Subflows is how many subflows each connection may have in addition
	// to the initial one.
	Subflows uint32
}

// LimitsUpdate says which limits SetLimits changes; a nil field is left as
// it is.
type LimitsUpdate struct {
	AddAddrAccepted *uint32
	Subflows        *uint32
}

// Limits returns the in-kernel path manager's limits.
func (c *Conn) Limits() (Limits, error) {
	const op = "get limits"
	msgs, err := c.request(op, cmdGetLimits, 0, nil)
	if err != nil {
		return Limits{}, err
	}
	if len(msgs) != 1 {
		return Limits{}, fmt.Errorf("%s: %d replies, want 1", op, len(msgs))
	}
	ad, err := netlink.NewAttributeDecoder(msgs[0].Data)
	if err != nil {
		return Limits{}, fmt.Errorf("%s: %w", op, err)
	}
	var l Limits
	var seen int
	for ad.Next() {
		switch ad.Type() {
		case attrRcvAddAddrs:
			l.AddAddrAccepted = ad.Uint32()
			seen++
		case attrSubflows:
			l.Subflows = ad.Uint32()
			seen++
		}
	}
	if err := ad.Err(); err != nil {
		return Limits{}, fmt.Errorf("%s: %w", op, err)
	}
	if seen != 2 {
		return Limits{}, fmt.Errorf("%s: %w", op, errShortReply)
	}
	return l, nil
}

// SetLimits changes the limits given in u. The kernel refuses values above
// its maximum (8 on Linux up to at least 6.18) with an explanation.
func (c *Conn) SetLimits(u LimitsUpdate) error {
	ae := netlink.NewAttributeEncoder()
	if u.AddAddrAccepted != nil {
		ae.Uint32(attrRcvAddAddrs, *u.AddAddrAccepted)
	}
	if u.Subflows != nil {
		ae.Uint32(attrSubflows, *u.Subflows)
	}
	_, err := c.request("set limits", cmdSetLimits, netlink.Acknowledge, ae)
	return err
}
