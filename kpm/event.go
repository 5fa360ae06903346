package kpm

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// EventType is the kind of an MPTCP event (enum mptcp_event_type).
type EventType uint8

// The kernel's MPTCP events.
const (
	// EventCreated: a connection was created (SYN sent or received).
	EventCreated EventType = 1
	// EventEstablished: a connection is fully established; subflows may
	// now be added.
	EventEstablished EventType = 2
	// EventClosed: a connection is gone.
	EventClosed EventType = 3
	// EventAnnounced: the peer announced an address (ADD_ADDR).
	EventAnnounced EventType = 6
	// EventRemoved: the peer withdrew an address (RM_ADDR).
	EventRemoved EventType = 7
	// EventSubEstablished: a subflow joined the connection.
	EventSubEstablished EventType = 10
	// EventSubClosed: a subflow closed.
	EventSubClosed EventType = 11
	// EventSubPriority: a subflow's backup priority changed (MP_PRIO).
	EventSubPriority EventType = 13
	// EventListenerCreated: an MPTCP listening socket was created.
	EventListenerCreated EventType = 15
	// EventListenerClosed: an MPTCP listening socket was closed.
	EventListenerClosed EventType = 16
)

var eventNames = map[EventType]string{
	EventCreated:         "CREATED",
	EventEstablished:     "ESTABLISHED",
	EventClosed:          "CLOSED",
	EventAnnounced:       "ANNOUNCED",
	EventRemoved:         "REMOVED",
	EventSubEstablished:  "SF_ESTABLISHED",
	EventSubClosed:       "SF_CLOSED",
	EventSubPriority:     "SF_PRIO",
	EventListenerCreated: "LISTENER_CREATED",
	EventListenerClosed:  "LISTENER_CLOSED",
}

// String returns the name "ip mptcp monitor" prints, such as "SF_ESTABLISHED".
func (t EventType) String() string {
	if n, ok := eventNames[t]; ok {
		return n
	}
	return fmt.Sprintf("UNKNOWN %d", uint8(t))
}

// EventAttr names one attribute of an event (enum mptcp_event_attr).
type EventAttr uint16

// Event attributes; Event.Has reports which ones an event carried.
const (
	AttrToken       EventAttr = evAttrToken
	AttrFamily      EventAttr = evAttrFamily
	AttrLocalID     EventAttr = evAttrLocID
	AttrRemoteID    EventAttr = evAttrRemID
	AttrSaddr       EventAttr = evAttrSaddr4 // IPv4 or IPv6
	AttrDaddr       EventAttr = evAttrDaddr4 // IPv4 or IPv6
	AttrSport       EventAttr = evAttrSport
	AttrDport       EventAttr = evAttrDport
	AttrBackup      EventAttr = evAttrBackup
	AttrError       EventAttr = evAttrError
	AttrFlags       EventAttr = evAttrFlags
	AttrTimeout     EventAttr = evAttrTimeout
	AttrIfIndex     EventAttr = evAttrIfIdx
	AttrResetReason EventAttr = evAttrResetReason
	AttrResetFlags  EventAttr = evAttrResetFlags
	AttrServerSide  EventAttr = evAttrServerSide
)

// Event is one MPTCP event with all the attributes the kernel sent. Which
// attributes an event carries depends on its type and the kernel version;
// Has tells them apart from zero values.
type Event struct {
	Type        EventType
	Token       uint32     // connection token
	Family      uint16     // AF_INET (2) or AF_INET6 (10)
	LocalID     uint8      // local address id
	RemoteID    uint8      // remote address id
	Saddr       netip.Addr // source (local) address
	Daddr       netip.Addr // destination (remote) address
	Sport       uint16
	Dport       uint16
	Backup      bool
	Error       uint8 // the subflow's socket error, for SF_CLOSED
	Flags       uint16
	Timeout     uint32
	IfIndex     int32
	ResetReason uint32 // MP_TCPRST reason, for SF_CLOSED
	ResetFlags  uint32
	ServerSide  bool // the connection was accepted, not initiated, here

	present uint32 // bit n set: attribute n was present
}

// Has reports whether the event carried attribute a.
func (e *Event) Has(a EventAttr) bool { return a < 32 && e.present&(1<<a) != 0 }

// Local returns the local address and port.
func (e *Event) Local() netip.AddrPort { return netip.AddrPortFrom(e.Saddr, e.Sport) }

// Remote returns the remote address and port.
func (e *Event) Remote() netip.AddrPort { return netip.AddrPortFrom(e.Daddr, e.Dport) }

// ParseEvent decodes one generic netlink message of the mptcp_pm event
// group. It never panics: a malformed message yields an error.
func ParseEvent(m genetlink.Message) (Event, error) {
	e := Event{Type: EventType(m.Header.Command)}
	ad, err := netlink.NewAttributeDecoder(m.Data)
	if err != nil {
		return Event{}, fmt.Errorf("%v event: %w", e.Type, err)
	}
	set := func(a uint16) { e.present |= 1 << a }
	addr := func(a uint16, want int, dst *netip.Addr) error {
		b := ad.Bytes()
		if len(b) != want {
			return fmt.Errorf("%v event: attribute %d has %d bytes, want %d", e.Type, a, len(b), want)
		}
		if want == 4 {
			*dst = netip.AddrFrom4([4]byte(b))
		} else {
			*dst = netip.AddrFrom16([16]byte(b))
		}
		return nil
	}
	be16 := func(a uint16) (uint16, error) {
		b := ad.Bytes()
		if len(b) != 2 {
			return 0, fmt.Errorf("%v event: attribute %d has %d bytes, want 2", e.Type, a, len(b))
		}
		return binary.BigEndian.Uint16(b), nil
	}
	for ad.Next() {
		t := ad.Type()
		var err error
		switch t {
		case evAttrToken:
			e.Token = ad.Uint32()
		case evAttrFamily:
			e.Family = ad.Uint16()
		case evAttrLocID:
			e.LocalID = ad.Uint8()
		case evAttrRemID:
			e.RemoteID = ad.Uint8()
		case evAttrSaddr4:
			err = addr(t, 4, &e.Saddr)
			t = evAttrSaddr4
		case evAttrSaddr6:
			err = addr(t, 16, &e.Saddr)
			t = evAttrSaddr4
		case evAttrDaddr4:
			err = addr(t, 4, &e.Daddr)
		case evAttrDaddr6:
			err = addr(t, 16, &e.Daddr)
			t = evAttrDaddr4
		case evAttrSport:
			e.Sport, err = be16(t)
		case evAttrDport:
			e.Dport, err = be16(t)
		case evAttrBackup:
			e.Backup = ad.Uint8() != 0
		case evAttrError:
			e.Error = ad.Uint8()
		case evAttrFlags:
			e.Flags = ad.Uint16()
			if e.Flags&evFlagServerSide != 0 {
				e.ServerSide = true
				set(evAttrServerSide)
			}
		case evAttrTimeout:
			e.Timeout = ad.Uint32()
		case evAttrIfIdx:
			e.IfIndex = ad.Int32()
		case evAttrResetReason:
			e.ResetReason = ad.Uint32()
		case evAttrResetFlags:
			e.ResetFlags = ad.Uint32()
		case evAttrServerSide:
			e.ServerSide = e.ServerSide || ad.Uint8() != 0
		default:
			continue // newer kernel: ignore what we do not know
		}
		if err != nil {
			return Event{}, err
		}
		set(t)
	}
	if err := ad.Err(); err != nil {
		return Event{}, fmt.Errorf("%v event: %w", e.Type, err)
	}
	return e, nil
}

// String formats the event as "ip mptcp monitor" does, for instance
// "[  SF_ESTABLISHED] token=1d7b2c3a remid=1 locid=2 saddr4=10.0.0.2 ...".
func (e Event) String() string {
	var b strings.Builder
	if _, ok := eventNames[e.Type]; !ok {
		fmt.Fprintf(&b, "[UNKNOWN %d]", uint8(e.Type))
	} else {
		fmt.Fprintf(&b, "[%16s]", e.Type)
	}
	if e.Has(AttrToken) {
		fmt.Fprintf(&b, " token=%08x", e.Token)
	}
	if e.Has(AttrRemoteID) {
		fmt.Fprintf(&b, " remid=%d", e.RemoteID)
	}
	if e.Has(AttrLocalID) {
		fmt.Fprintf(&b, " locid=%d", e.LocalID)
	}
	ver := func(a netip.Addr) string {
		if a.Is4() {
			return "4"
		}
		return "6"
	}
	if e.Has(AttrSaddr) {
		fmt.Fprintf(&b, " saddr%s=%s", ver(e.Saddr), e.Saddr)
	}
	if e.Has(AttrDaddr) {
		fmt.Fprintf(&b, " daddr%s=%s", ver(e.Daddr), e.Daddr)
	}
	if e.Has(AttrSport) {
		fmt.Fprintf(&b, " sport=%d", e.Sport)
	}
	if e.Has(AttrDport) {
		fmt.Fprintf(&b, " dport=%d", e.Dport)
	}
	if e.Has(AttrBackup) {
		fmt.Fprintf(&b, " backup=%d", b2i(e.Backup))
	}
	if e.Has(AttrError) {
		fmt.Fprintf(&b, " error=%d", e.Error)
	}
	if e.Has(AttrFlags) {
		fmt.Fprintf(&b, " flags=%x", e.Flags)
	}
	if e.Has(AttrTimeout) {
		fmt.Fprintf(&b, " timeout=%d", e.Timeout)
	}
	if e.Has(AttrIfIndex) {
		fmt.Fprintf(&b, " ifindex=%d", e.IfIndex)
	}
	if e.Has(AttrResetReason) {
		fmt.Fprintf(&b, " reset_reason=%d", e.ResetReason)
	}
	if e.Has(AttrResetFlags) {
		fmt.Fprintf(&b, " reset_flags=0x%x", e.ResetFlags)
	}
	if e.Has(AttrServerSide) {
		fmt.Fprintf(&b, " server_side=%d", b2i(e.ServerSide))
	}
	return b.String()
}

func b2i(v bool) int {
	if v {
		return 1
	}
	return 0
}

// jsonEvent fixes the order and names of an event's JSON fields; nil
// pointers are attributes the kernel did not send.
type jsonEvent struct {
	Type        string  `json:"type"`
	Token       *string `json:"token,omitempty"`
	Family      *string `json:"family,omitempty"`
	RemoteID    *uint8  `json:"remid,omitempty"`
	LocalID     *uint8  `json:"locid,omitempty"`
	Saddr       *string `json:"saddr,omitempty"`
	Daddr       *string `json:"daddr,omitempty"`
	Sport       *uint16 `json:"sport,omitempty"`
	Dport       *uint16 `json:"dport,omitempty"`
	Backup      *bool   `json:"backup,omitempty"`
	Error       *uint8  `json:"error,omitempty"`
	Flags       *uint16 `json:"flags,omitempty"`
	Timeout     *uint32 `json:"timeout,omitempty"`
	IfIndex     *int32  `json:"ifindex,omitempty"`
	ResetReason *uint32 `json:"reset_reason,omitempty"`
	ResetFlags  *uint32 `json:"reset_flags,omitempty"`
	ServerSide  *bool   `json:"server_side,omitempty"`
}

// MarshalJSON encodes the event as one flat object holding the attributes
// the kernel sent: "type" (lower case, e.g. "sf_established"), "token" (8
// hex digits, as ss -M shows it), "family" ("inet" or "inet6"), addresses
// as strings, the rest as numbers and booleans.
func (e Event) MarshalJSON() ([]byte, error) {
	j := jsonEvent{Type: strings.ToLower(e.Type.String())}
	if _, ok := eventNames[e.Type]; !ok {
		j.Type = fmt.Sprintf("unknown_%d", uint8(e.Type))
	}
	if e.Has(AttrToken) {
		s := fmt.Sprintf("%08x", e.Token)
		j.Token = &s
	}
	if e.Has(AttrFamily) {
		s := fmt.Sprintf("%d", e.Family)
		switch e.Family {
		case afInet:
			s = "inet"
		case afInet6:
			s = "inet6"
		}
		j.Family = &s
	}
	if e.Has(AttrRemoteID) {
		j.RemoteID = &e.RemoteID
	}
	if e.Has(AttrLocalID) {
		j.LocalID = &e.LocalID
	}
	if e.Has(AttrSaddr) {
		s := e.Saddr.String()
		j.Saddr = &s
	}
	if e.Has(AttrDaddr) {
		s := e.Daddr.String()
		j.Daddr = &s
	}
	if e.Has(AttrSport) {
		j.Sport = &e.Sport
	}
	if e.Has(AttrDport) {
		j.Dport = &e.Dport
	}
	if e.Has(AttrBackup) {
		j.Backup = &e.Backup
	}
	if e.Has(AttrError) {
		j.Error = &e.Error
	}
	if e.Has(AttrFlags) {
		j.Flags = &e.Flags
	}
	if e.Has(AttrTimeout) {
		j.Timeout = &e.Timeout
	}
	if e.Has(AttrIfIndex) {
		j.IfIndex = &e.IfIndex
	}
	if e.Has(AttrResetReason) {
		j.ResetReason = &e.ResetReason
	}
	if e.Has(AttrResetFlags) {
		j.ResetFlags = &e.ResetFlags
	}
	if e.Has(AttrServerSide) {
		j.ServerSide = &e.ServerSide
	}
	return json.Marshal(j)
}
