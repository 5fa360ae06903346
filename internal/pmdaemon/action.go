package pmdaemon

import (
	"fmt"
	"net/netip"

	"github.com/mptcp-go/mptcp/kpm"
)

// ActionKind is the kind of command a Manager asks for.
type ActionKind int

// Commands for the kernel's userspace path manager.
const (
	// ActCreate opens a subflow from Local to Remote.
	ActCreate ActionKind = iota + 1
	// ActDestroy closes the subflow between LocalAddr and Remote.
	ActDestroy
	// ActAnnounce announces Local (ADD_ADDR).
	ActAnnounce
	// ActRemove withdraws the local address ID (RM_ADDR).
	ActRemove
	// ActSetBackup sets the backup flag of the subflow between LocalAddr
	// and Remote to Backup (MP_PRIO).
	ActSetBackup
)

var actionNames = map[ActionKind]string{
	ActCreate:    "create subflow",
	ActDestroy:   "destroy subflow",
	ActAnnounce:  "announce address",
	ActRemove:    "remove address",
	ActSetBackup: "set backup",
}

// String returns the kind's name.
func (k ActionKind) String() string {
	if n, ok := actionNames[k]; ok {
		return n
	}
	return fmt.Sprintf("action(%d)", int(k))
}

// Action is one command for the kernel, on the connection Token.
type Action struct {
	Kind      ActionKind
	Token     uint32
	Local     kpm.Endpoint   // ActCreate: id, address, interface, flags; ActAnnounce: id, address, port
	LocalAddr netip.AddrPort // ActDestroy, ActSetBackup: the subflow's local end
	Remote    netip.AddrPort // ActCreate, ActDestroy, ActSetBackup
	ID        uint8          // ActRemove
	Backup    bool           // ActSetBackup
	Why       string         // the reason, for the log
}

// String describes the action in one line.
func (a Action) String() string {
	switch a.Kind {
	case ActCreate:
		s := fmt.Sprintf("%v token=%08x %s (id %d) -> %s", a.Kind, a.Token, a.Local.Addr, a.Local.ID, a.Remote)
		if a.Local.Flags&kpm.FlagBackup != 0 {
			s += " backup"
		}
		return s
	case ActDestroy:
		return fmt.Sprintf("%v token=%08x %s -> %s", a.Kind, a.Token, a.LocalAddr, a.Remote)
	case ActAnnounce:
		return fmt.Sprintf("%v token=%08x %s (id %d)", a.Kind, a.Token, netip.AddrPortFrom(a.Local.Addr, a.Local.Port), a.Local.ID)
	case ActRemove:
		return fmt.Sprintf("%v token=%08x id %d", a.Kind, a.Token, a.ID)
	case ActSetBackup:
		return fmt.Sprintf("%v=%v token=%08x %s -> %s", a.Kind, a.Backup, a.Token, a.LocalAddr, a.Remote)
	}
	return a.Kind.String()
}

// NoteKind grades a Note.
type NoteKind int

const (
	// NoteInfo records a decision worth knowing about.
	NoteInfo NoteKind = iota
	// NoteDecline records that a subflow was not created or an address not
	// used, and why.
	NoteDecline
	// NoteWarn records a command the kernel refused or an inconsistency.
	NoteWarn
)

// Note is something the Manager wants logged. Declines are reported once
// per cause: again only when the reason changes.
type Note struct {
	Kind   NoteKind
	Token  uint32     // 0 when not about one connection
	Local  netip.Addr // the local address concerned, if any
	Remote netip.AddrPort
	Msg    string
}

// String describes the note in one line.
func (n Note) String() string {
	s := n.Msg
	if n.Remote.IsValid() {
		s = fmt.Sprintf("%s -> %s: %s", n.Local, n.Remote, s)
	} else if n.Local.IsValid() {
		s = fmt.Sprintf("%s: %s", n.Local, s)
	}
	if n.Token != 0 {
		s = fmt.Sprintf("token=%08x %s", n.Token, s)
	}
	return s
}

// Output is what a Manager call asks of its driver: commands to send, in
// order, and notes to log.
type Output struct {
	Actions []Action
	Notes   []Note
}
