package wire

import (
	"net/netip"
	"strconv"
	"strings"
)

// MPTCPSubtype is the subtype nibble of an MPTCP option (RFC 8684 section 7,
// "MPTCP Option Subtypes").
type MPTCPSubtype uint8

// The MPTCP option subtypes. The names follow RFC 8684; the kernel's
// MPTCPOPT_* constants have the same values.
const (
	SubtypeMPCapable      MPTCPSubtype = 0x0
	SubtypeMPJoin         MPTCPSubtype = 0x1
	SubtypeDSS            MPTCPSubtype = 0x2
	SubtypeAddAddr        MPTCPSubtype = 0x3
	SubtypeRemoveAddr     MPTCPSubtype = 0x4
	SubtypeMPPrio         MPTCPSubtype = 0x5
	SubtypeMPFail         MPTCPSubtype = 0x6
	SubtypeMPFastclose    MPTCPSubtype = 0x7
	SubtypeMPTCPRst       MPTCPSubtype = 0x8
	SubtypeMPExperimental MPTCPSubtype = 0xf
	numKnownMPTCPSubtypes              = 9
)

var subtypeNames = [...]string{
	SubtypeMPCapable:   "MP_CAPABLE",
	SubtypeMPJoin:      "MP_JOIN",
	SubtypeDSS:         "DSS",
	SubtypeAddAddr:     "ADD_ADDR",
	SubtypeRemoveAddr:  "REMOVE_ADDR",
	SubtypeMPPrio:      "MP_PRIO",
	SubtypeMPFail:      "MP_FAIL",
	SubtypeMPFastclose: "MP_FASTCLOSE",
	SubtypeMPTCPRst:    "MP_TCPRST",
}

// String returns the RFC name of the subtype.
func (s MPTCPSubtype) String() string {
	if int(s) < len(subtypeNames) {
		return subtypeNames[s]
	}
	if s == SubtypeMPExperimental {
		return "MP_EXPERIMENTAL"
	}
	return "MPTCP_SUBTYPE(" + strconv.Itoa(int(s)) + ")"
}

// MPTCPSubtypeSet is a set of subtypes, one bit per subtype value, as the
// kernel's suboptions mask records which options a segment carried.
type MPTCPSubtypeSet uint16

// Has reports whether s is in the set.
func (m MPTCPSubtypeSet) Has(s MPTCPSubtype) bool { return m&(1<<(s&0xf)) != 0 }

// With returns the set with s added.
func (m MPTCPSubtypeSet) With(s MPTCPSubtype) MPTCPSubtypeSet { return m | 1<<(s&0xf) }

// Unknown reports whether the set holds a subtype this package does not
// interpret (an unassigned value or MP_EXPERIMENTAL).
func (m MPTCPSubtypeSet) Unknown() bool { return m>>numKnownMPTCPSubtypes != 0 }

// String lists the subtypes, for example "MP_CAPABLE|DSS".
func (m MPTCPSubtypeSet) String() string {
	if m == 0 {
		return "none"
	}
	var sb strings.Builder
	for s := MPTCPSubtype(0); s < 16; s++ {
		if m.Has(s) {
			if sb.Len() > 0 {
				sb.WriteByte('|')
			}
			sb.WriteString(s.String())
		}
	}
	return sb.String()
}

// MPTCPOptions holds every MPTCP option of one segment, decoded in one pass
// without allocation, in the manner of the kernel's mptcp_options_received:
// Present says which subtypes were seen and the field of that subtype holds
// its value. The field of an absent subtype is meaningless. If a segment
// carries two options of one subtype, the later one wins.
type MPTCPOptions struct {
	Present    MPTCPSubtypeSet
	Capable    MPCapable
	Join       MPJoin
	DSS        DSS
	AddAddr    AddAddr
	RemoveAddr RemoveAddr
	Prio       MPPrio
	Fail       MPFail
	Fastclose  MPFastclose
	Rst        MPTCPRst
}

// Has reports whether an option of subtype s was decoded.
func (o *MPTCPOptions) Has(s MPTCPSubtype) bool { return o.Present.Has(s) }

// Option lengths fixed by RFC 8684 section 3 (kernel TCPOLEN_MPTCP_*).
const (
	MPCapableSYNLen      = 4  // v1 SYN: no key
	MPCapableSYNACKLen   = 12 // sender's key
	MPCapableACKLen      = 20 // both keys
	MPCapableDataLen     = 22 // both keys and data-level length
	MPCapableDataCsumLen = 24 // ... and checksum
	MPCapableV0SYNLen    = 12 // RFC 6824 SYN carries the sender's key

	MPJoinSYNLen    = 12
	MPJoinSYNACKLen = 16
	MPJoinACKLen    = 24

	MPPrioLen       = 3
	MPPrioAddrIDLen = 4 // RFC 6824 form with an address ID
	MPFailLen       = 12
	MPFastcloseLen  = 12
	MPTCPRstLen     = 4

	// DSSMaxLen is the longest DSS option: 8-byte DATA_ACK, 8-byte DSN
	// and checksum.
	DSSMaxLen = 28
)

// MPTCPVersion is the protocol version this package speaks (RFC 8684);
// version 0 is RFC 6824.
const MPTCPVersion = 1

// MPCapableForm says which segment of the handshake an MP_CAPABLE option
// belongs to; it decides which fields are present. The zero value is not a
// form, so a caller must say which one it builds.
type MPCapableForm uint8

// The MP_CAPABLE forms (RFC 8684 section 3.1).
const (
	// MPCapableSYN is on the SYN: no key in version 1, the sender's key in
	// version 0.
	MPCapableSYN MPCapableForm = iota + 1
	// MPCapableSYNACK is on the SYN/ACK: the sender's key.
	MPCapableSYNACK
	// MPCapableACK is on the third ACK: both keys.
	MPCapableACK
	// MPCapableData is on the first data segment when the third ACK carried
	// no data: both keys, the data-level length and, if negotiated, the DSS
	// checksum.
	MPCapableData
)

var mpcFormNames = [...]string{"invalid", "SYN", "SYN/ACK", "ACK", "data"}

// String names the form.
func (f MPCapableForm) String() string {
	if int(f) < len(mpcFormNames) {
		return mpcFormNames[f]
	}
	return "MPCapableForm(" + strconv.Itoa(int(f)) + ")"
}

// MPCapableFlags is the flags byte of MP_CAPABLE, bits A (most significant)
// to H.
type MPCapableFlags uint8

// The MP_CAPABLE flags of RFC 8684 section 3.1 (kernel MPTCP_CAP_*).
const (
	// MPCapableChecksum is flag A, "checksum required".
	MPCapableChecksum MPCapableFlags = 0x80
	// MPCapableExtensibility is flag B, reserved for a future extension;
	// version 1 senders clear it.
	MPCapableExtensibility MPCapableFlags = 0x40
	// MPCapableDenyJoinID0 is flag C: the sender will not accept new
	// subflows to the address and port this option came from (address ID 0).
	MPCapableDenyJoinID0 MPCapableFlags = 0x20
	// MPCapableUnassigned are flags D to G, unassigned in version 1.
	MPCapableUnassigned MPCapableFlags = 0x1e
	// MPCapableHMACSHA256 is flag H: HMAC-SHA256, the only algorithm of
	// version 1. In version 0 the same bit meant HMAC-SHA1.
	MPCapableHMACSHA256 MPCapableFlags = 0x01
)

// String renders the set flags by letter, for example "A|H".
func (f MPCapableFlags) String() string {
	if f == 0 {
		return "none"
	}
	var sb strings.Builder
	for i := 0; i < 8; i++ {
		if f&(0x80>>i) != 0 {
			if sb.Len() > 0 {
				sb.WriteByte('|')
			}
			sb.WriteByte(byte('A' + i))
		}
	}
	return sb.String()
}

// MPCapable is the MP_CAPABLE option (subtype 0).
//
//	SYN      | kind | len=4  | 0 |ver| A..H |
//	SYN/ACK  | ... | sender's key (64) |
//	ACK      | ... | sender's key (64) | receiver's key (64) |
//	data     | ... | both keys | data-level length (16) | [checksum (16)] |
//
// Version 0 (RFC 6824) has SYN, SYN/ACK and ACK forms of 12, 12 and 20
// bytes and no data form; it is decoded so that a stack can see it and
// decline, as RFC 8684 section 3.1 describes.
type MPCapable struct {
	Form    MPCapableForm
	Version uint8 // 4 bits
	Flags   MPCapableFlags
	// SenderKey is present on SYN/ACK, ACK and data forms, and on a
	// version-0 SYN.
	SenderKey uint64
	// ReceiverKey is present on ACK and data forms.
	ReceiverKey uint64
	// DataLen is the data-level length of the data form; the mapping starts
	// at data sequence IDSN+1 and subflow sequence 1.
	DataLen     uint16
	HasChecksum bool // data form with checksum (length 24)
	Checksum    uint16
}

// MPJoinForm says which segment of a join handshake an MP_JOIN option is on.
type MPJoinForm uint8

// The MP_JOIN forms (RFC 8684 section 3.2).
const (
	MPJoinSYN    MPJoinForm = iota + 1 // receiver's token and sender's nonce
	MPJoinSYNACK                       // truncated HMAC and sender's nonce
	MPJoinACK                          // 160-bit HMAC
)

var joinFormNames = [...]string{"invalid", "SYN", "SYN/ACK", "ACK"}

// String names the form.
func (f MPJoinForm) String() string {
	if int(f) < len(joinFormNames) {
		return joinFormNames[f]
	}
	return "MPJoinForm(" + strconv.Itoa(int(f)) + ")"
}

// MPJoinHMACLen is the length of the HMAC on the third ACK of a join: the
// leftmost 160 bits of HMAC-SHA256.
const MPJoinHMACLen = 20

// MPJoin is the MP_JOIN option (subtype 1).
//
//	SYN     | kind | len=12 | 1 |rsv|B| addr id | receiver's token | sender's nonce |
//	SYN/ACK | kind | len=16 | 1 |rsv|B| addr id | truncated HMAC (64) | sender's nonce |
//	ACK     | kind | len=24 | 1 | reserved (12) | HMAC (160) |
type MPJoin struct {
	Form          MPJoinForm
	Backup        bool   // B flag, SYN and SYN/ACK
	AddrID        uint8  // SYN and SYN/ACK
	Token         uint32 // SYN: the receiver's token
	Nonce         uint32 // SYN and SYN/ACK: the sender's random number
	TruncatedHMAC uint64 // SYN/ACK: leftmost 64 bits of the sender's HMAC
	HMAC          [MPJoinHMACLen]byte
}

// DSS flag bits (RFC 8684 section 3.3, kernel MPTCP_DSS_*).
const (
	DSSFlagDataAck   = 0x01 // A: DATA_ACK present
	DSSFlagDataAck64 = 0x02 // a: DATA_ACK is 8 octets
	DSSFlagMapping   = 0x04 // M: DSN, subflow sequence, length (and checksum) present
	DSSFlagDSN64     = 0x08 // m: DSN is 8 octets
	DSSFlagDataFIN   = 0x10 // F: DATA_FIN
)

// DSS is the Data Sequence Signal option (subtype 2).
//
//	| kind | len | 2 | reserved |F|m|M|a|A|
//	| DATA_ACK (4 or 8)                          | if A
//	| DSN (4 or 8) | subflow seq (4) | length (2) | if M
//	| checksum (2)                               | if M and negotiated
//
// The flags do not say whether the checksum is there; the option length
// does, so the decoder sets HasChecksum from it.
type DSS struct {
	HasAck  bool
	Ack64   bool
	DataAck uint64 // the low 32 bits only when !Ack64
	HasMap  bool
	DSN64   bool
	// DSN is the data sequence number of the mapping, only its low 32 bits
	// when !DSN64: the receiver extends it.
	DSN uint64
	// SubflowSeq is relative to the subflow's initial sequence number.
	SubflowSeq  uint32
	DataLen     uint16 // 0 with a checksum of 0 is the infinite mapping
	HasChecksum bool
	Checksum    uint16
	// DataFIN is the F flag; the DATA_FIN occupies the last octet of the
	// mapping, so it needs one.
	DataFIN bool
}

// Flags returns the DSS flag byte for d.
func (d *DSS) Flags() uint8 {
	var f uint8
	if d.HasAck {
		f |= DSSFlagDataAck
		if d.Ack64 {
			f |= DSSFlagDataAck64
		}
	}
	if d.HasMap {
		f |= DSSFlagMapping
		if d.DSN64 {
			f |= DSSFlagDSN64
		}
	}
	if d.DataFIN {
		f |= DSSFlagDataFIN
	}
	return f
}

// AddAddr is the ADD_ADDR option (subtype 3).
//
//	| kind | len | 3 |rsv|E| addr id | address (4 or 16) | [port (2)] | [truncated HMAC (8)] |
//
// The echo (E=1) carries no HMAC. Lengths: IPv4 16 or 18 with HMAC, 8 or 10
// echoed; IPv6 28 or 30, echoed 20 or 22.
type AddAddr struct {
	Echo    bool
	AddrID  uint8
	Addr    netip.Addr // IPv4 encodes in 4 bytes, anything else in 16
	HasPort bool
	Port    uint16
	HMAC    uint64 // rightmost 64 bits of the HMAC; absent when Echo
}

// MaxRemoveAddrIDs is how many address IDs a REMOVE_ADDR can carry in the
// 40 bytes of option space.
const MaxRemoveAddrIDs = MaxOptionLen - 3

// RemoveAddr is the REMOVE_ADDR option (subtype 4).
//
//	| kind | len=3+n | 4 | rsv | id 1 | ... | id n |
type RemoveAddr struct {
	Count uint8 // 1 to MaxRemoveAddrIDs
	IDs   [MaxRemoveAddrIDs]uint8
}

// List returns the address IDs. The slice aliases r.
func (r *RemoveAddr) List() []uint8 { return r.IDs[:min(int(r.Count), MaxRemoveAddrIDs)] }

// MPPrio is the MP_PRIO option (subtype 5).
//
//	| kind | len=3 | 5 |rsv|B|             RFC 8684
//	| kind | len=4 | 5 |rsv|B| addr id |   RFC 6824, still decoded
type MPPrio struct {
	Backup    bool
	HasAddrID bool
	AddrID    uint8
}

// MPFail is the MP_FAIL option (subtype 6): the data sequence number from
// which the checksum failed.
//
//	| kind | len=12 | 6 | reserved (12) | DSN (64) |
type MPFail struct {
	DSN uint64
}

// MPFastclose is the MP_FASTCLOSE option (subtype 7).
//
//	| kind | len=12 | 7 | reserved (12) | option receiver's key (64) |
type MPFastclose struct {
	ReceiverKey uint64
}

// MPTCPRstFlags are the U, V, W and T bits of MP_TCPRST.
type MPTCPRstFlags uint8

// The MP_TCPRST flags (RFC 8684 section 3.6).
const (
	MPTCPRstFlagU MPTCPRstFlags = 0x8 // unassigned
	MPTCPRstFlagV MPTCPRstFlags = 0x4 // unassigned
	MPTCPRstFlagW MPTCPRstFlags = 0x2 // unassigned
	// MPTCPRstTransient is the T bit: the error is transient and the sender
	// may try the subflow again (kernel MPTCP_RST_TRANSIENT).
	MPTCPRstTransient MPTCPRstFlags = 0x1
)

// MPTCPRstReason is the reason code of MP_TCPRST.
type MPTCPRstReason uint8

// The MP_TCPRST reason codes of RFC 8684 section 3.6 (kernel MPTCP_RST_E*).
const (
	MPTCPRstReasonUnspecified         MPTCPRstReason = 0x00 // MPTCP_RST_EUNSPEC
	MPTCPRstReasonMPTCPError          MPTCPRstReason = 0x01 // MPTCP_RST_EMPTCP
	MPTCPRstReasonLackOfResources     MPTCPRstReason = 0x02 // MPTCP_RST_ERESOURCE
	MPTCPRstReasonAdminProhibited     MPTCPRstReason = 0x03 // MPTCP_RST_EPROHIBIT
	MPTCPRstReasonTooMuchOutstanding  MPTCPRstReason = 0x04 // MPTCP_RST_EWQ2BIG
	MPTCPRstReasonUnacceptablePerf    MPTCPRstReason = 0x05 // MPTCP_RST_EBADPERF
	MPTCPRstReasonMiddleboxInterferes MPTCPRstReason = 0x06 // MPTCP_RST_EMIDDLEBOX
)

var rstReasonNames = [...]string{
	"unspecified error",
	"MPTCP-specific error",
	"lack of resources",
	"administratively prohibited",
	"too much outstanding data",
	"unacceptable performance",
	"middlebox interference",
}

// String returns the RFC's description of the reason.
func (r MPTCPRstReason) String() string {
	if int(r) < len(rstReasonNames) {
		return rstReasonNames[r]
	}
	return "reason 0x" + strconv.FormatUint(uint64(r), 16)
}

// MPTCPRst is the MP_TCPRST option (subtype 8), carried on a RST to say why
// a subflow is reset.
//
//	| kind | len=4 | 8 |U|V|W|T| reason |
type MPTCPRst struct {
	Flags  MPTCPRstFlags // low four bits
	Reason MPTCPRstReason
}

// Subtype returns SubtypeMPCapable.
func (*MPCapable) Subtype() MPTCPSubtype { return SubtypeMPCapable }

// Subtype returns SubtypeMPJoin.
func (*MPJoin) Subtype() MPTCPSubtype { return SubtypeMPJoin }

// Subtype returns SubtypeDSS.
func (*DSS) Subtype() MPTCPSubtype { return SubtypeDSS }

// Subtype returns SubtypeAddAddr.
func (*AddAddr) Subtype() MPTCPSubtype { return SubtypeAddAddr }

// Subtype returns SubtypeRemoveAddr.
func (*RemoveAddr) Subtype() MPTCPSubtype { return SubtypeRemoveAddr }

// Subtype returns SubtypeMPPrio.
func (*MPPrio) Subtype() MPTCPSubtype { return SubtypeMPPrio }

// Subtype returns SubtypeMPFail.
func (*MPFail) Subtype() MPTCPSubtype { return SubtypeMPFail }

// Subtype returns SubtypeMPFastclose.
func (*MPFastclose) Subtype() MPTCPSubtype { return SubtypeMPFastclose }

// Subtype returns SubtypeMPTCPRst.
func (*MPTCPRst) Subtype() MPTCPSubtype { return SubtypeMPTCPRst }
