package kpm

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/mdlayher/netlink"
)

// The commands below drive one connection of the kernel's "userspace" path
// manager (net.mptcp.path_manager=userspace), named by its token. The
// kernel refuses them for connections managed in the kernel ("userspace PM
// not selected").

// Announce sends ADD_ADDR for local on the connection. local.ID must be
// non-zero and unique within the connection; a non-zero port announces a
// port, which needs a listening socket on it (the kernel does not create
// one for the userspace path manager).
func (c *Conn) Announce(token uint32, local Endpoint) error {
	if local.ID == 0 || !local.Addr.IsValid() {
		return errors.New("announce: an address and a non-zero id are required")
	}
	local.Flags |= FlagSignal
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(attrToken, token)
	encodeAddr(ae, attrAddr, local, 0)
	_, err := c.request(fmt.Sprintf("announce %s on token %08x", local.Addr, token), cmdAnnounce, netlink.Acknowledge, ae)
	return err
}

// Remove withdraws the local address id from the connection: the kernel
// sends RM_ADDR and forgets the address.
func (c *Conn) Remove(token uint32, localID uint8) error {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(attrToken, token)
	ae.Uint8(attrLocID, localID)
	_, err := c.request(fmt.Sprintf("remove address id %d on token %08x", localID, token), cmdRemove, netlink.Acknowledge, ae)
	return err
}

// CreateSubflow asks the kernel to open a subflow (MP_JOIN) from local to
// remote. local.ID is the address id the join carries: the same address
// must keep the same id within a connection. local.IfIndex binds the
// subflow to an interface; FlagBackup in local.Flags makes it a backup
// subflow. The kernel returns once the SYN is sent; the outcome arrives as
// an EventSubEstablished or EventSubClosed.
func (c *Conn) CreateSubflow(token uint32, local Endpoint, remote netip.AddrPort) error {
	if !local.Addr.IsValid() || !remote.IsValid() {
		return errors.New("create subflow: local and remote addresses are required")
	}
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(attrToken, token)
	encodeAddr(ae, attrAddr, local, 0)
	encodeAddr(ae, attrAddrRemote, Endpoint{Addr: remote.Addr(), Port: remote.Port()}, 0)
	op := fmt.Sprintf("create subflow %s -> %s on token %08x", local.Addr, remote, token)
	_, err := c.request(op, cmdSubflowCreate, netlink.Acknowledge, ae)
	return err
}

// DestroySubflow closes the subflow between local and remote (both with
// ports) and forgets the local address entry the kernel keeps for it.
func (c *Conn) DestroySubflow(token uint32, local, remote netip.AddrPort) error {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(attrToken, token)
	encodeAddr(ae, attrAddr, Endpoint{Addr: local.Addr(), Port: local.Port()}, 0)
	encodeAddr(ae, attrAddrRemote, Endpoint{Addr: remote.Addr(), Port: remote.Port()}, 0)
	op := fmt.Sprintf("destroy subflow %s -> %s on token %08x", local, remote, token)
	_, err := c.request(op, cmdSubflowDestroy, netlink.Acknowledge, ae)
	return err
}

// SetSubflowBackup changes the backup priority of the subflow between
// local and remote and tells the peer (MP_PRIO).
func (c *Conn) SetSubflowBackup(token uint32, local, remote netip.AddrPort, backup bool) error {
	var flags Flags
	if backup {
		flags = FlagBackup
	}
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(attrToken, token)
	encodeAddr(ae, attrAddr, Endpoint{Addr: local.Addr(), Port: local.Port(), Flags: flags}, forceFlags)
	encodeAddr(ae, attrAddrRemote, Endpoint{Addr: remote.Addr(), Port: remote.Port()}, 0)
	op := fmt.Sprintf("set backup=%v on subflow %s -> %s on token %08x", backup, local, remote, token)
	_, err := c.request(op, cmdSetFlags, netlink.Acknowledge, ae)
	return err
}
