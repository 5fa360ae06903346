package kpm

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// Endpoint is an address the in-kernel path manager may use: to announce
// it, to create subflows from it, or both. The same layout describes the
// local and remote addresses of the userspace path manager's commands.
type Endpoint struct {
	ID      uint8      // 1..255; 0 lets the kernel choose on add
	Addr    netip.Addr // IPv4 or IPv6
	Port    uint16     // 0 for none; a signal endpoint with a port gets a listener
	Flags   Flags
	IfIndex int32 // interface to bind subflows to; 0 for none
}

// force lists fields that encodeAddr writes even at their zero value.
type force uint8

const (
	forceID force = 1 << iota
	forceFlags
)

// encodeAddr writes e as a nested MPTCP_PM_ADDR_ATTR_* set under typ. Fields
// at their zero value are left out, which is how the kernel reads "unset",
// unless f forces them.
func encodeAddr(ae *netlink.AttributeEncoder, typ uint16, e Endpoint, f force) {
	ae.Nested(typ, func(nae *netlink.AttributeEncoder) error {
		if e.Addr.IsValid() {
			addr := e.Addr.Unmap()
			if addr.Is4() {
				nae.Uint16(addrAttrFamily, afInet)
				b := addr.As4()
				nae.Bytes(addrAttrAddr4, b[:])
			} else {
				nae.Uint16(addrAttrFamily, afInet6)
				b := addr.As16()
				nae.Bytes(addrAttrAddr6, b[:])
			}
		}
		if e.ID != 0 || f&forceID != 0 {
			nae.Uint8(addrAttrID, e.ID)
		}
		if e.Port != 0 {
			nae.Uint16(addrAttrPort, e.Port)
		}
		if e.Flags != 0 || f&forceFlags != 0 {
			nae.Uint32(addrAttrFlags, uint32(e.Flags))
		}
		if e.IfIndex != 0 {
			nae.Int32(addrAttrIfIdx, e.IfIndex)
		}
		return nil
	})
}

// decodeAddr reads a nested MPTCP_PM_ADDR_ATTR_* set. Attributes it does not
// know are skipped, so newer kernels keep working.
func decodeAddr(nad *netlink.AttributeDecoder) (Endpoint, error) {
	var e Endpoint
	var family uint16
	var a4, a6 []byte
	for nad.Next() {
		switch nad.Type() {
		case addrAttrFamily:
			family = nad.Uint16()
		case addrAttrID:
			e.ID = nad.Uint8()
		case addrAttrAddr4:
			a4 = nad.Bytes()
		case addrAttrAddr6:
			a6 = nad.Bytes()
		case addrAttrPort:
			e.Port = nad.Uint16()
		case addrAttrFlags:
			e.Flags = Flags(nad.Uint32())
		case addrAttrIfIdx:
			e.IfIndex = nad.Int32()
		}
	}
	if err := nad.Err(); err != nil {
		return Endpoint{}, err
	}
	switch {
	case family == afInet && a4 != nil:
		if len(a4) != 4 {
			return Endpoint{}, fmt.Errorf("IPv4 address attribute of %d bytes", len(a4))
		}
		e.Addr = netip.AddrFrom4([4]byte(a4))
	case family == afInet6 && a6 != nil:
		if len(a6) != 16 {
			return Endpoint{}, fmt.Errorf("IPv6 address attribute of %d bytes", len(a6))
		}
		e.Addr = netip.AddrFrom16([16]byte(a6))
	}
	return e, nil
}

// decodeEndpointMessage extracts the MPTCP_PM_ATTR_ADDR of a reply.
func decodeEndpointMessage(m genetlink.Message) (Endpoint, error) {
	ad, err := netlink.NewAttributeDecoder(m.Data)
	if err != nil {
		return Endpoint{}, err
	}
	var e Endpoint
	found := false
	for ad.Next() {
		if ad.Type() == attrAddr {
			found = true
			ad.Nested(func(nad *netlink.AttributeDecoder) error {
				var err error
				e, err = decodeAddr(nad)
				return err
			})
		}
	}
	if err := ad.Err(); err != nil {
		return Endpoint{}, err
	}
	if !found {
		return Endpoint{}, errShortReply
	}
	return e, nil
}

// AddEndpoint adds an endpoint to the in-kernel path manager.
func (c *Conn) AddEndpoint(e Endpoint) error {
	if !e.Addr.IsValid() {
		return errors.New("add endpoint: an address is required")
	}
	ae := netlink.NewAttributeEncoder()
	encodeAddr(ae, attrAddr, e, 0)
	_, err := c.request("add endpoint", cmdAddAddr, netlink.Acknowledge, ae)
	return err
}

// DeleteEndpoint removes the endpoint with the given id. The id 0 stands
// for the address of each connection's initial subflow, and then addr says
// which address that is.
func (c *Conn) DeleteEndpoint(id uint8, addr netip.Addr) error {
	ae := netlink.NewAttributeEncoder()
	encodeAddr(ae, attrAddr, Endpoint{ID: id, Addr: addr}, forceID)
	_, err := c.request(fmt.Sprintf("delete endpoint id %d", id), cmdDelAddr, netlink.Acknowledge, ae)
	return err
}

// SetEndpointFlags changes the backup, fullmesh (and, on kernels that know
// it, laminar) flags of the endpoint chosen by e.ID, or by e.Addr and
// e.Port when e.ID is 0. The kernel sets each of those flags to its value in
// e.Flags, so pass the complete wanted set.
func (c *Conn) SetEndpointFlags(e Endpoint) error {
	if e.ID == 0 && !e.Addr.IsValid() {
		return errors.New("change endpoint: an id or an address is required")
	}
	// Flags 0 must still reach the kernel: "nobackup" is the absence of
	// the bit.
	ae := netlink.NewAttributeEncoder()
	encodeAddr(ae, attrAddr, Endpoint{ID: e.ID, Addr: e.Addr, Port: e.Port, Flags: e.Flags}, forceFlags)
	_, err := c.request("change endpoint", cmdSetFlags, netlink.Acknowledge, ae)
	return err
}

// Endpoint returns the endpoint with the given id.
func (c *Conn) Endpoint(id uint8) (Endpoint, error) {
	ae := netlink.NewAttributeEncoder()
	encodeAddr(ae, attrAddr, Endpoint{ID: id}, forceID)
	op := fmt.Sprintf("get endpoint id %d", id)
	msgs, err := c.request(op, cmdGetAddr, 0, ae)
	if err != nil {
		return Endpoint{}, err
	}
	if len(msgs) != 1 {
		return Endpoint{}, fmt.Errorf("%s: %d replies, want 1", op, len(msgs))
	}
	e, err := decodeEndpointMessage(msgs[0])
	if err != nil {
		return Endpoint{}, fmt.Errorf("%s: %w", op, err)
	}
	return e, nil
}

// Endpoints returns all endpoints of the in-kernel path manager, in the
// kernel's order.
func (c *Conn) Endpoints() ([]Endpoint, error) {
	msgs, err := c.request("list endpoints", cmdGetAddr, netlink.Dump, nil)
	if err != nil {
		return nil, err
	}
	eps := make([]Endpoint, 0, len(msgs))
	for _, m := range msgs {
		e, err := decodeEndpointMessage(m)
		if err != nil {
			return nil, fmt.Errorf("list endpoints: %w", err)
		}
		eps = append(eps, e)
	}
	return eps, nil
}

// FlushEndpoints removes every endpoint.
func (c *Conn) FlushEndpoints() error {
	_, err := c.request("flush endpoints", cmdFlushAddrs, netlink.Acknowledge, nil)
	return err
}
