package kpm

import "net/netip"

// Link is a network interface as a path manager sees it.
type Link struct {
	Index    int
	Name     string
	Up       bool // administratively up with carrier (IFF_UP and IFF_LOWER_UP)
	Loopback bool
}

// Addr is an address assigned to an interface.
type Addr struct {
	Index  int // interface index
	Prefix netip.Prefix
	Scope  uint8  // RT_SCOPE_*: 0 universe, 253 link, 254 host
	Flags  uint32 // IFA_F_*
}

// Address flags worth telling apart (IFA_F_*), with Linux's values
// (include/uapi/linux/if_addr.h) written out so that the path manager's
// policy builds and is tested on every system.
const (
	AddrFlagDadFailed  = 0x08 // IFA_F_DADFAILED
	AddrFlagDeprecated = 0x20 // IFA_F_DEPRECATED
	AddrFlagTentative  = 0x40 // IFA_F_TENTATIVE
)

// NetChange is one change reported by rtnetlink: a link or an address
// appeared, changed or (Deleted) went away. Exactly one of Link and Addr
// is set.
type NetChange struct {
	Link    *Link
	Addr    *Addr
	Deleted bool
}
