package kpm

// Names and numbers of the kernel's mptcp_pm generic netlink family, from
// include/uapi/linux/mptcp_pm.h and mptcp.h. They are part of the kernel's
// stable ABI.

const (
	familyName     = "mptcp_pm"
	eventGroupName = "mptcp_pm_events"
)

// Commands (enum MPTCP_PM_CMD_*).
const (
	cmdAddAddr        = 1
	cmdDelAddr        = 2
	cmdGetAddr        = 3
	cmdFlushAddrs     = 4
	cmdSetLimits      = 5
	cmdGetLimits      = 6
	cmdSetFlags       = 7
	cmdAnnounce       = 8
	cmdRemove         = 9
	cmdSubflowCreate  = 10
	cmdSubflowDestroy = 11
)

// Top-level request attributes (enum MPTCP_PM_ATTR_*).
const (
	attrAddr        = 1 // nested address
	attrRcvAddAddrs = 2 // u32
	attrSubflows    = 3 // u32
	attrToken       = 4 // u32
	attrLocID       = 5 // u8
	attrAddrRemote  = 6 // nested address
)

// Nested address attributes (enum MPTCP_PM_ADDR_ATTR_*).
const (
	addrAttrFamily = 1 // u16
	addrAttrID     = 2 // u8
	addrAttrAddr4  = 3 // struct in_addr
	addrAttrAddr6  = 4 // struct in6_addr
	addrAttrPort   = 5 // u16, host byte order
	addrAttrFlags  = 6 // u32
	addrAttrIfIdx  = 7 // s32
)

// Event attributes (enum mptcp_event_attr).
const (
	evAttrToken       = 1  // u32
	evAttrFamily      = 2  // u16
	evAttrLocID       = 3  // u8
	evAttrRemID       = 4  // u8
	evAttrSaddr4      = 5  // be32
	evAttrSaddr6      = 6  // struct in6_addr
	evAttrDaddr4      = 7  // be32
	evAttrDaddr6      = 8  // struct in6_addr
	evAttrSport       = 9  // be16
	evAttrDport       = 10 // be16
	evAttrBackup      = 11 // u8
	evAttrError       = 12 // u8
	evAttrFlags       = 13 // u16
	evAttrTimeout     = 14 // u32
	evAttrIfIdx       = 15 // s32
	evAttrResetReason = 16 // u32
	evAttrResetFlags  = 17 // u32
	evAttrServerSide  = 18 // u8
	evAttrMax         = evAttrServerSide
)

// Event flags carried in MPTCP_ATTR_FLAGS (MPTCP_PM_EV_FLAG_*).
const (
	evFlagDenyJoinID0 = 1 << 0
	evFlagServerSide  = 1 << 1
)

// Address families as the kernel encodes them.
const (
	afInet  = 2
	afInet6 = 10
)
