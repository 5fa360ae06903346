// Package pm holds the MPTCP path managers: the policy that decides which
// subflows a connection opens, which addresses it announces, and what it
// does when paths appear, fail or disappear. Path managers are chosen by
// name from a registry and act on a connection only through the narrow
// Conn view the MPTCP layer implements: events in, commands out, time
// passed in, as the kernel's path managers (net/mptcp/pm*.c) are driven.
package pm

import (
	"errors"
	"fmt"
	reg "github.com/mptcp-go/mptcp/internal/registry"
	"net/netip"
	"strings"
	"time"
)

// Default is the name of the path manager used when none is chosen.
const Default = "fullmesh"

// ErrUnknown is returned, wrapped, by New for a name nothing registered.
var ErrUnknown = errors.New("unknown path manager")

// Errors a Conn command returns; path managers branch on them.
var (
	// ErrLimit: the subflow or address limit is reached.
	ErrLimit = errors.New("path manager limit reached")
	// ErrClosed: the connection is closing or fell back to TCP and takes
	// no new subflows or announcements.
	ErrClosed = errors.New("connection cannot take new paths")
	// ErrExists: such a subflow or announcement already exists.
	ErrExists = errors.New("already exists")
	// ErrNotFound: no subflow or address with that identity.
	ErrNotFound = errors.New("not found")
)

// Limits bound what a path manager does on one connection, named after the
// kernel's "ip mptcp limits" (subflows, add_addr_accepted).
type Limits struct {
	// Subflows is the most additional subflows (beyond the initial one)
	// a connection may have, created or accepted. The kernel's maximum is
	// 8.
	Subflows int
	// AddAddrAccepted is the most addresses announced by the peer that
	// the connection accepts and connects to.
	AddAddrAccepted int
}

// DefaultLimits are those of this stack's fullmesh path manager. The
// kernel's defaults are 2 subflows and 0 accepted addresses, which suit a
// server; a client that is meant to use several paths needs more.
var DefaultLimits = Limits{Subflows: 8, AddAddrAccepted: 8}

// LocalAddr is an address of this host usable by a connection: the
// kernel's endpoint.
type LocalAddr struct {
	// ID is the address ID sent in MP_JOIN and ADD_ADDR; 0 is the address
	// of the initial subflow.
	ID   uint8
	Addr netip.Addr
	// Port, when non-zero, is announced with the address (a server that
	// listens for joins on another port).
	Port uint16
	// Backup marks subflows from this address as backup paths.
	Backup bool
	// Signal: announce it to the peer (ADD_ADDR). Subflow: open subflows
	// from it. With neither, fullmesh does both as a client announces
	// nothing and a server opens nothing.
	Signal, Subflow bool
	// Fullmesh and Laminar are the kernel's endpoint flags of the same
	// names, used by the kernel path manager: a fullmesh endpoint opens
	// subflows to every known peer address, and is the source of subflows
	// to addresses the peer announces; a laminar endpoint is the source
	// of at most one subflow, to an address the peer announces.
	Fullmesh, Laminar bool
}

// RemoteAddr is an address of the peer a connection knows about: the
// initial one (ID 0) or one announced by ADD_ADDR.
type RemoteAddr struct {
	ID       uint8
	AddrPort netip.AddrPort
}

// SubflowInfo describes one subflow to a path manager.
type SubflowInfo struct {
	ID                int
	Local             netip.AddrPort
	Remote            netip.AddrPort
	LocalID, RemoteID uint8
	Backup            bool
	Established       bool // false while the handshake runs
	Initial           bool // the MP_CAPABLE subflow
}

// Conn is what a path manager sees of and does to a connection.
type Conn interface {
	// Server reports whether this side accepted the connection.
	Server() bool
	// Limits returns the connection's limits.
	Limits() Limits
	// LocalAddrs returns the host's addresses usable by this connection.
	LocalAddrs() []LocalAddr
	// RemoteAddrs returns the peer's known addresses. The initial one is
	// left out when the peer asked not to be joined there (MP_CAPABLE C
	// flag).
	RemoteAddrs() []RemoteAddr
	// Subflows returns the subflows, established or connecting.
	Subflows() []SubflowInfo
	// Connect opens a subflow from local to remote with MP_JOIN.
	Connect(local LocalAddr, remote RemoteAddr, backup bool) error
	// CloseSubflow closes a subflow.
	CloseSubflow(id int) error
	// Announce sends ADD_ADDR for a local address.
	Announce(a LocalAddr) error
	// Withdraw sends REMOVE_ADDR for a local address ID and closes the
	// subflows using it.
	Withdraw(id uint8) error
	// SetBackup changes a subflow's priority (MP_PRIO).
	SetBackup(id int, backup bool) error
}

// EventKind names a path-manager event, after the kernel's MPTCP netlink
// events.
type EventKind uint8

// The events.
const (
	// Established: the connection is fully established (keys exchanged).
	Established EventKind = iota + 1
	// Closed: the connection is gone.
	Closed
	// Announced: the peer announced Remote (ADD_ADDR).
	Announced
	// Removed: the peer withdrew the address with ID RemoteID
	// (REMOVE_ADDR); its subflows are already closed.
	Removed
	// SubEstablished: subflow Subflow is established.
	SubEstablished
	// SubClosed: subflow Subflow closed (or failed to connect), with Err.
	SubClosed
	// SubPriority: subflow Subflow changed priority.
	SubPriority
	// LocalAdded and LocalRemoved: a host address came or went.
	LocalAdded
	LocalRemoved
	// FellBack: the connection fell back to TCP; it takes no more paths.
	FellBack
	// Created: the connection exists (MP_CAPABLE exchanged on the
	// initial subflow) and is not yet fully established.
	Created
	// JoinRefused: the MPTCP layer refused an incoming MP_JOIN from
	// Subflow.Remote to Subflow.Local; Err says why (ErrLimit, ErrClosed).
	JoinRefused
	// AnnounceDropped: the MPTCP layer did not take the address the peer
	// announced, Remote; Err says why (ErrLimit for add_addr_accepted).
	AnnounceDropped
)

var eventNames = [...]string{"", "ESTABLISHED", "CLOSED", "ANNOUNCED", "REMOVED",
	"SUB_ESTABLISHED", "SUB_CLOSED", "SUB_PRIORITY", "LOCAL_ADDED", "LOCAL_REMOVED", "FALLBACK",
	"CREATED", "JOIN_REFUSED", "ANNOUNCE_DROPPED"}

// String returns the kernel-style event name.
func (k EventKind) String() string {
	if int(k) < len(eventNames) && k != 0 {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is one thing that happened to a connection.
type Event struct {
	Kind     EventKind
	Subflow  SubflowInfo // Sub* events, JoinRefused
	Remote   RemoteAddr  // Announced, AnnounceDropped
	RemoteID uint8       // Removed
	Local    LocalAddr   // LocalAdded, LocalRemoved
	// Err says why a subflow closed; nil for an orderly close.
	Err error
}

// PathManager manages the paths of one connection.
type PathManager interface {
	// Name returns the name the path manager is registered under.
	Name() string
	// Event reports something that happened to c.
	Event(now time.Time, c Conn, ev Event)
	// Poll lets the path manager act on its own timers (retries with
	// backoff) and returns when it next wants to run, zero for never.
	Poll(now time.Time, c Conn) time.Time
}

// Inbox is implemented by a path manager that takes commands from outside
// the stack's goroutine (the userspace path manager). The MPTCP layer
// polls a path manager only when the deadline Poll returned is due,
// unless Pending reports commands waiting; Pending must be safe to call
// while commands are being queued.
type Inbox interface {
	Pending() bool
}

// Factory makes a PathManager for one connection.
type Factory func() PathManager

var registry = reg.New[Factory]("pm")

// Register makes a path manager available by name; it panics on an empty
// or duplicate name or a nil factory.
func Register(name string, f Factory) {
	if strings.ContainsAny(name, ":,=") {
		panic("pm: Register with malformed name " + name)
	}
	if paramRegistered(name) {
		panic("pm: Register called twice for " + name)
	}
	registry.Register(name, f, f == nil)
}

// New returns a new path manager of the named kind; "" means Default. An
// unknown name gives an error wrapping ErrUnknown listing the valid names.
// A name may carry parameters for path managers registered with
// RegisterParams, as in "ndiffports:4" or "kernel:subflows=4" (see
// Params); each call builds such a path manager afresh, sharing nothing
// with other calls (a Set shares it among one stack's connections).
func New(name string) (PathManager, error) {
	if name == "" {
		name = Default
	}
	if f, ok, err := lookupParams(name); ok {
		if err != nil {
			return nil, err
		}
		return f(), nil
	}
	f, ok := registry.Lookup(name)
	if !ok {
		return nil, registry.Unknown(ErrUnknown, name, Names())
	}
	return f(), nil
}

// Names returns the registered names, sorted.
func Names() []string { return registry.Names(paramNames()...) }

// IsPermanent reports whether a subflow's error says its path must not be
// tried again for the connection: the peer reset it with MP_TCPRST and
// the T (transient) flag clear (RFC 8684 section 3.6). The MPTCP layer's
// error implements Permanent() bool.
func IsPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}
