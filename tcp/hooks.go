package tcp

import (
	"errors"
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/cc"
	"github.com/mptcp-go/mptcp/wire"
)

// This file is the contract between the engine and the layer above it that
// shapes segments: the MPTCP layer. Everything a subflow needs is here:
//
//   - Hooks.WriteOptions adds options to every segment a connection sends
//     (SYN, SYN/ACK, data, pure ACK, FIN, RST, probes), knowing its kind,
//     sequence numbers, stream offset and payload length;
//   - Hooks.ReadOptions sees the options of every incoming segment that
//     passed validation, before the engine acts on it, and may drop it or
//     reset the connection (an MP_JOIN whose HMAC fails);
//   - Hooks.Acked reports cumulative and selective acknowledgments;
//   - Hooks.ReceiveWindow overrides the advertised window (MPTCP shares one
//     connection-level window across subflows);
//   - Hooks.Notify reports state changes: established, readable, writable,
//     FIN received, closed (Conn.Err says why: reset, timeout, ...);
//   - ListenHooks.SYN decides each incoming SYN: accept it with hooks (and
//     so options on the SYN/ACK), or refuse it with a RST that may carry
//     options (MP_TCPRST), or drop it;
//   - Conn.WriteRecord keeps record boundaries: no segment, first
//     transmission or retransmission, carries bytes of two records, so each
//     record can carry one data-sequence mapping;
//   - Conn.SetOptionReserve keeps option space free on data segments, so
//     payload plus options stay within the MSS (SetRecordOptionReserve
//     keeps more on each record's first segment, where a mapping goes);
//   - Conn.SendACK asks for an ACK now (to carry a DATA_ACK or ADD_ADDR),
//     Conn.Abort resets a subflow with a RST that hooks fill with options.
//
// Hooks run on the driver's goroutine, synchronously, in the middle of the
// engine's work. WriteOptions, ReadOptions, Acked and ReceiveWindow must
// not call back into the Conn except for its read-only accessors; Notify
// runs after the engine finished with the segment or timer that caused it
// and may call anything (Read, Write, Close, Abort, SendACK).

// SegmentKind classifies a segment for hooks.
type SegmentKind uint8

// Segment kinds. A segment with payload is KindData even if it carries a
// FIN; a FIN without payload is KindFIN.
const (
	KindSYN SegmentKind = iota + 1
	KindSYNACK
	KindData
	KindACK // no payload, no SYN, FIN or RST: ACKs, window updates, probes
	KindFIN
	KindRST
	// KindOldACK is a pure ACK whose sequence number lies before RCV.NXT,
	// by less than a window, with an acceptable acknowledgment number: a
	// peer in loss recovery that pulled SND.NXT back to SND.UNA sends its
	// ACKs so until it retransmits. The engine drops it as RFC 9293 says
	// (its ACK and window are not used); hooks see it only for the
	// signals its options carry, which the peer sends once (REMOVE_ADDR
	// has no echo).
	KindOldACK
)

var kindNames = [...]string{"?", "SYN", "SYN/ACK", "data", "ACK", "FIN", "RST", "old ACK"}

// String names the kind.
func (k SegmentKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "?"
}

// Segment describes a segment to hooks: an outgoing one before its options
// are written, an incoming one after it was validated.
type Segment struct {
	Kind     SegmentKind
	Flags    wire.TCPFlags
	Seq, Ack uint32 // as on the wire
	Window   uint16 // as on the wire (incoming segments only)
	// Offset is the stream offset of the first payload byte in the
	// segment's direction: 0 for the first data byte after the SYN. It is
	// the subflow sequence number relative to the ISN, minus one.
	Offset uint64
	// Len is the payload length. For an outgoing data segment it is final
	// unless WriteOptions adds more than the reserve (SetOptionReserve),
	// in which case the payload of a first transmission is trimmed to
	// keep within the MSS (see OptionRoom).
	Len int
	// Retransmit marks an outgoing segment that repeats bytes sent before
	// (also a retransmitted SYN, SYN/ACK or FIN).
	Retransmit bool
	// Retransmits counts the earlier transmissions of a SYN or SYN/ACK
	// (0 for the first), so the MPTCP layer can drop MP_CAPABLE after a
	// few unanswered SYNs; for other segments it is 1 when Retransmit is
	// set.
	Retransmits int
	// Probe marks an outgoing zero-window probe, keepalive or tail loss
	// probe.
	Probe bool
	// OptionRoom is, on an outgoing segment, the option bytes that fit
	// beside its payload within the MSS (at most 40). A retransmission
	// keeps its payload, so options beyond it would make the segment
	// larger than the MSS.
	OptionRoom int
}

// Verdict is what ReadOptions decides about an incoming segment.
type Verdict uint8

const (
	// Accept lets the engine process the segment.
	Accept Verdict = iota
	// Drop discards the segment as if it had not arrived.
	Drop
	// Reset discards the segment and resets the connection: a RST is sent
	// (WriteOptions sees it, KindRST) and the connection closes with
	// ErrConnectionAborted.
	Reset
)

// AckInfo reports an acknowledgment to Hooks.Acked.
type AckInfo struct {
	// Una is the stream offset below which every byte is acknowledged.
	Una uint64
	// NewlyAcked is the bytes this ACK acknowledged cumulatively.
	NewlyAcked int
	// SACK holds the peer's selective acknowledgments above Una as
	// stream offsets, valid only during the call.
	SACK []Range
	// FINAcked reports that our FIN is acknowledged.
	FINAcked bool
}

// Range is a half-open interval [Start, End) of stream offsets.
type Range struct{ Start, End uint64 }

// Event is a set of changes Hooks.Notify reports.
type Event uint16

// Events.
const (
	// EventEstablished: the handshake completed.
	EventEstablished Event = 1 << iota
	// EventReadable: new in-order data, or the end of the stream, can be
	// read. A passive connection whose SYN data was taken (Fast Open)
	// reports it in SYN-RECEIVED, before EventEstablished.
	EventReadable
	// EventWritable: after a Write that did not take everything, at least
	// a quarter of the send buffer is free again.
	EventWritable
	// EventFIN: the peer's FIN arrived in order (Read returns io.EOF once
	// the data before it is read).
	EventFIN
	// EventSendAcked: every byte written, and the FIN if sent, is
	// acknowledged.
	EventSendAcked
	// EventClosed: the connection is closed (or in TIME-WAIT, which keeps
	// no Conn); Err reports why, nil for an orderly close.
	EventClosed
	// EventRTO: the retransmission timer fired (Info().RTOsInRow says how
	// many times in a row without progress): a stale subflow's sign.
	EventRTO
)

// Hooks is implemented by the layer above a connection. Embed NopHooks to
// implement only some of the methods.
type Hooks interface {
	// WriteOptions adds options to an outgoing segment. The engine's own
	// options (MSS, window scale and SACK-permitted on SYNs; timestamps)
	// are already in b; SACK blocks go in after, in the space left. It is
	// called for retransmissions too, and c is nil for the RST a listener
	// sends when ListenHooks.SYN refuses a SYN.
	WriteOptions(c *Conn, seg *Segment, b *wire.OptionBuilder)
	// ReadOptions sees each incoming segment that passed the acceptability
	// checks of RFC 9293 (sequence, RST and SYN validation, PAWS), and each
	// SYN/ACK answering our SYN, before the engine acts on it: pure ACKs,
	// duplicates that are still in the window, RSTs that reset the
	// connection. (The SYN of a passive open goes to ListenHooks.SYN
	// instead.) Segments dropped as unacceptable are not shown.
	ReadOptions(c *Conn, now time.Time, seg *Segment, opts *wire.TCPOptions) Verdict
	// Acked reports that snd.una advanced or new SACK information arrived.
	Acked(c *Conn, now time.Time, a *AckInfo)
	// ReceiveWindow returns the receive window to advertise, in bytes,
	// given the one the engine computed. The engine never shrinks the
	// window it advertised before (RFC 9293 section 3.8.6.2.2) and accepts
	// data up to the edge it advertised, growing the receive buffer to
	// ReceiveBufferMax at most.
	ReceiveWindow(c *Conn, wnd int) int
	// Notify reports changes after the engine has processed the segment or
	// timer that caused them.
	Notify(c *Conn, now time.Time, ev Event)
}

// CCGrouper is implemented by hooks whose connection's congestion control
// is coupled with that of other connections: the subflows of one MPTCP
// connection. A listener's Options are shared by every connection it
// creates, so they cannot name the Group of each; a connection whose
// Options carry no CCGroup asks its hooks instead when it is established
// and its controller is created. A nil Group leaves it uncoupled.
type CCGrouper interface {
	CCGroup() *cc.Group
}

// NopHooks implements Hooks with no effect. Embed it to override only
// some methods.
type NopHooks struct{}

// WriteOptions implements Hooks.
func (NopHooks) WriteOptions(*Conn, *Segment, *wire.OptionBuilder) {}

// ReadOptions implements Hooks.
func (NopHooks) ReadOptions(*Conn, time.Time, *Segment, *wire.TCPOptions) Verdict { return Accept }

// Acked implements Hooks.
func (NopHooks) Acked(*Conn, time.Time, *AckInfo) {}

// ReceiveWindow implements Hooks.
func (NopHooks) ReceiveWindow(_ *Conn, wnd int) int { return wnd }

// Notify implements Hooks.
func (NopHooks) Notify(*Conn, time.Time, Event) {}

// Request describes a SYN arriving at a listener, for ListenHooks.SYN.
type Request struct {
	Local, Remote netip.AddrPort
	// Options are the SYN's options (for a SYN-cookie completion, the
	// options of the ACK that carried the cookie back). Valid only during
	// the call.
	Options *wire.TCPOptions
	// Cookie reports a handshake completed by a SYN cookie: the SYN itself
	// was not kept, and the connection is being created from its ACK.
	Cookie bool
}

// ListenHooks decides the fate of incoming SYNs. A listener without them
// accepts every SYN its backlog has room for, and queues the connections
// for Accept.
type ListenHooks interface {
	// SYN is called for each SYN the listener would accept. Returning hooks
	// (nil allowed) and no error accepts it: the SYN/ACK is sent with the
	// hooks' options, and the connection is handed over through the hooks'
	// Notify(EventEstablished) rather than the Accept queue whenever hooks
	// is non-nil. Returning an error refuses it: with ErrDrop the SYN is
	// dropped silently, otherwise a RST answers it, carrying the options
	// the returned hooks (if any) write for KindRST.
	SYN(now time.Time, req *Request) (Hooks, error)
}

// CookieHooks is implemented by ListenHooks whose SYN/ACK options matter
// even when the listener, its half-open queue full, answers with a SYN
// cookie and keeps nothing (the MPTCP layer's MP_CAPABLE, whose key the
// third ACK brings back). CookieSYN sees such a SYN (req.Cookie is false:
// the handshake is not completed yet) and adds its options to the cookie
// SYN/ACK in b, after the engine's; an error refuses the SYN as
// ListenHooks.SYN's does. Hooks that do not implement it see the
// handshake only when the cookie returns.
type CookieHooks interface {
	CookieSYN(now time.Time, req *Request, b *wire.OptionBuilder) (Hooks, error)
}

// ErrDrop, returned by ListenHooks.SYN, drops the SYN without an answer.
var ErrDrop = errors.New("tcp: SYN dropped by listener hooks")
