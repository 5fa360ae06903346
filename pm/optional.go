package pm

import (
	"net/netip"
	"time"
)

// Optional interfaces between the MPTCP layer and path managers. The
// layer implements the Conn-side ones on the view it hands out and calls
// the PathManager-side ones when a path manager implements them; a path
// manager works, with less, where they are missing.

// AnotherConnector is implemented by a Conn that can open a subflow
// between a pair of addresses that already has one: the new subflow
// leaves from a fresh source port (ndiffports). Connect refuses such a
// pair with ErrExists.
type AnotherConnector interface {
	ConnectAnother(local LocalAddr, remote RemoteAddr, backup bool) error
}

// Tokener is implemented by a Conn that knows its local MPTCP token, the
// connection's name in the kernel's netlink events and commands.
type Tokener interface {
	Token() uint32
}

// JoinAdmitter is implemented by a path manager that decides whether a
// connection accepts an incoming MP_JOIN, as the kernel's in-kernel path
// manager applies its subflows limit (mptcp_pm_allow_new_subflow). The
// MPTCP layer asks after its own checks pass; a non-nil error refuses the
// join (counted as MPJoinRejected), and the path manager has recorded why.
type JoinAdmitter interface {
	AdmitJoin(now time.Time, c Conn, local, remote netip.AddrPort, backup bool) error
}

// ListenerObserver receives a stack's listener events, which belong to
// no connection: the kernel's LISTENER_CREATED and LISTENER_CLOSED,
// which tell a userspace path manager on which ports joins can arrive.
type ListenerObserver interface {
	ListenerCreated(now time.Time, addr netip.AddrPort)
	ListenerClosed(now time.Time, addr netip.AddrPort)
}
