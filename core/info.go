package core

import (
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/tcp"
)

// ConnInfo describes a connection: its state, policies and subflows.
type ConnInfo struct {
	State    ConnState
	Server   bool
	FellBack bool
	// FallbackReason names the counter of the fallback cause
	// (MPCapableFallbackSYNACK, DssFallback, ...), empty if none or if
	// the connection never tried MPTCP.
	FallbackReason string
	Checksum       bool // DSS checksums in use
	LocalToken     uint32
	RemoteToken    uint32

	Scheduler, PathManager, CongestionControl string

	BytesSent, BytesReceived uint64 // payload handed to subflows / taken from them
	BytesAcked               uint64 // data-level acknowledged
	// SndUna, WriteSeq and RcvNxt are data sequence numbers, as the
	// kernel's struct mptcp_info has them: the first not DATA_ACKed, the
	// next the application's write takes, the next expected in order.
	SndUna, WriteSeq, RcvNxt uint64
	SendBuffered             int // written, not yet DATA_ACKed
	// PeerWindow is how far past the DATA_ACK the peer's connection-level
	// window lets data go (RFC 8684 section 3.3.4): what it may hold out
	// of order at once.
	PeerWindow        uint64
	ReceiveBuffer     int // current receive buffer (auto-tuned)
	ReceiveBuffered   int // in order and out of order
	ReceiveOutOfOrder int // of which out of order (waiting for a gap to fill)
	Subflows          []SubflowInfo
	// ClosedSubflows are the last states of subflows that closed (at
	// most maxClosedInfo, the latest), so their bytes are not lost to
	// reports.
	ClosedSubflows []SubflowInfo
}

// maxClosedInfo bounds ConnInfo.ClosedSubflows.
const maxClosedInfo = 64

// SubflowInfo describes one subflow.
type SubflowInfo struct {
	ID                int
	Local, Remote     netip.AddrPort
	LocalID, RemoteID uint8
	Initial, Join     bool
	Active            bool // we sent the SYN
	// Backup is set when either side asked for it; LocalBackup and
	// PeerBackup say who.
	Backup, LocalBackup, PeerBackup bool
	Established                     bool // may carry data
	Stale                           bool
	State                           tcp.State
	SRTT, RTTVar                    time.Duration
	Cwnd, InFlight                  int
	BytesSent, BytesReceived        uint64 // data-level payload
	Retransmits                     uint64
	DeliveryRate                    float64
	// TCP is the subflow's TCP engine statistics (segments, window,
	// MSS, loss recovery), as ss -ti shows a kernel subflow's.
	TCP tcp.Stats
}

// Info returns a snapshot of the connection.
func (c *Conn) Info() ConnInfo {
	ci := ConnInfo{
		State: c.state, Server: c.server, FellBack: c.fallen, Checksum: c.csum,
		LocalToken: c.local.token, RemoteToken: c.remote.token,
		Scheduler: c.sched.Name(), PathManager: c.pm.Name(), CongestionControl: c.ccName,
		BytesSent: c.bytesSent, BytesReceived: c.bytesRecv,
		BytesAcked: c.snd.una - c.snd.first,
		SndUna:     c.snd.una, WriteSeq: c.snd.una + uint64(c.snd.q.len()), RcvNxt: c.rcv.nxt,
		SendBuffered: c.snd.q.len(), ReceiveBuffer: c.rcv.limit, ReceiveBuffered: c.rcv.buffered(),
		ReceiveOutOfOrder: c.rcv.ofoN,
	}
	if e := c.sendEdge(); after64(e, c.snd.una) {
		ci.PeerWindow = e - c.snd.una
	}
	if c.fallen && c.fallbackCause != 0 {
		ci.FallbackReason = c.fallbackCause.String()
	}
	for _, sf := range c.subflows {
		if !sf.closed {
			sf.refreshAll()
		}
		ci.Subflows = append(ci.Subflows, sf.snapshot())
	}
	ci.ClosedSubflows = append([]SubflowInfo(nil), c.closedInfo...)
	return ci
}

// snapshot describes the subflow from its cached state.
func (sf *subflow) snapshot() SubflowInfo {
	return SubflowInfo{
		ID: sf.id, Local: sf.local, Remote: sf.remote, LocalID: sf.localID, RemoteID: sf.remoteID,
		Initial: sf.initial, Join: sf.join, Active: sf.active,
		Backup: sf.backup || sf.peerBackup, LocalBackup: sf.backup, PeerBackup: sf.peerBackup,
		Established: sf.usable(), Stale: sf.stale, State: sf.info.State,
		SRTT: sf.info.SRTT, RTTVar: sf.info.RTTVar, Cwnd: sf.info.Cwnd, InFlight: sf.info.InFlight,
		BytesSent: sf.bytesSent, BytesReceived: sf.bytesRecv, Retransmits: sf.info.Retransmits,
		DeliveryRate: sf.info.DeliveryRate, TCP: sf.info,
	}
}

// CCGroupSize returns how many subflows' congestion controllers are in
// the connection's coupling group (those of coupled algorithms only).
func (c *Conn) CCGroupSize() int { return c.ccGroup.Len() }
