package drill

import (
	"net/netip"
	"time"
)

// Script is a parsed packetdrill script.
type Script struct {
	Path    string
	Options map[string]string // command-line options in the script: --tolerance_usecs=100000
	Events  []*Event
}

// EventKind says what an event does.
type EventKind uint8

// The kinds of events.
const (
	EventPacket  EventKind = iota + 1 // a packet injected or expected
	EventSyscall                      // a system call on the stack
	EventCommand                      // a `shell command`
)

// Event is one statement of a script.
type Event struct {
	Line    int
	Text    string // the statement as written, comments removed
	Time    Time
	Kind    EventKind
	Packet  *Packet
	Call    *Call
	Command string
}

// Time is an event's time: absolute from the script's start, relative to
// the previous event (+), or any time (*).
type Time struct {
	Rel bool
	Any bool
	At  time.Duration
	// End is the time a blocking system call returns ("0.1...0.3 read").
	HasEnd bool
	EndRel bool
	End    time.Duration
}

// Packet is a TCP packet statement.
type Packet struct {
	Out bool // ">": the stack must send it; "<": the script injects it
	// Src and Dst name address variables (addr[X] > addr[Y]), "" when
	// absent: the packet then belongs to the current flow.
	Src, Dst string
	Flags    string // as written: "S", "S.", ".", "P.", "F.", "R."
	Seq, End uint32
	Len      int
	Ack      *uint32
	Win      *uint32
	HasOpts  bool // options were written (<...>); otherwise they are not checked
	AnyOpts  bool // <...>
	Opts     []*Option
}

// Option is one TCP option of a packet statement.
type Option struct {
	Name   string // nop, eol, mss, wscale, sackOK, sack, TS, or an MPTCP option name
	Text   string
	Val    uint64 // mss, wscale
	TSVal  uint32
	TSEcr  uint32
	Blocks [][2]uint32 // sack
	MP     *MPOption
}

// MPOption is an MPTCP option written symbolically, as the
// multipath-tcp/packetdrill fork's grammar has it.
type MPOption struct {
	Kind string // mpcapable, mp_join_syn, mp_join_syn_ack, mp_join_ack, dss, add_address, remove_address, mp_prio, mp_fail, mp_fastclose, mp_reset

	// mpcapable
	Version int // 0 or 1
	Flags   uint8
	Keys    []KeyVar
	DataLen *uint16

	// mp_join_*, add_address, mp_prio
	Backup *bool
	AddrID *uint8
	Token  *TokenSpec
	Rand   *uint32
	// HMACAuto: sender_hmac=auto or hmac=auto, computed from the keys.
	HMACAuto bool

	// dss
	DAck, DSN *SeqVal
	SSN       *uint32
	DLL       *uint16
	Checksum  CsumSpec
	CsumVal   uint16
	Fin       bool

	// add_address
	AddrVar string     // addr[NAME]
	AddrLit netip.Addr // addr[NAME=inet_addr("...")]
	Port    *uint16
	Echo    bool

	// remove_address
	IDs []uint8

	// mp_reset
	Reason    uint8
	Transient bool

	// mp_fastclose
	Key *KeyVar
}

// KeyVar is a key written as a variable, possibly with a value: skey,
// ckey=2.
type KeyVar struct {
	Name string
	Val  *uint64
}

// TokenSpec is an MP_JOIN token: a literal, or the token of a key variable.
type TokenSpec struct {
	Lit  *uint32
	Var  string // sha256_32(VAR)
	Auto bool
}

// SeqVal is a DSS sequence number with its width (dack4=, dsn8=).
type SeqVal struct {
	Wide bool // 8 octets
	Val  uint64
}

// CsumSpec says what a DSS statement says of the checksum.
type CsumSpec uint8

// The DSS checksum forms.
const (
	CsumAuto  CsumSpec = iota // not written: present and computed when checksums are in use
	CsumNone                  // nocs
	CsumValue                 // cs=N
)

// Call is a system call statement.
type Call struct {
	Name  string
	Args  [][]token
	Ret   int64
	Errno string
}
