package core

import (
	"fmt"
	"strings"
)

// Counter names one MIB counter. The names and their order are those of
// the Linux kernel's MPTcpExt counters (net/mptcp/mib.c, as printed in
// /proc/net/netstat by Linux 6.18), so that users can read them the way
// they read nstat; counters the kernel lacks come after them.
type Counter uint8

// The MPTcpExt counters. Each counts events across all connections of one
// Stack.
const (
	// MPCapableSYNRX counts SYNs received with MP_CAPABLE.
	MPCapableSYNRX Counter = iota
	// MPCapableSYNTX counts SYNs sent with MP_CAPABLE.
	MPCapableSYNTX
	// MPCapableSYNACKRX counts SYN/ACKs received with MP_CAPABLE.
	MPCapableSYNACKRX
	// MPCapableACKRX counts third ACKs (or first data) received with MP_CAPABLE.
	MPCapableACKRX
	// MPCapableFallbackACK counts server-side fallbacks: the third ACK came without MP_CAPABLE.
	MPCapableFallbackACK
	// MPCapableFallbackSYNACK counts client-side fallbacks: the SYN/ACK came without MP_CAPABLE.
	MPCapableFallbackSYNACK
	// MPCapableSYNTXDrop counts client-side fallbacks because MP_CAPABLE SYNs went unanswered.
	MPCapableSYNTXDrop
	// MPCapableSYNTXDisabled counts connections that did not try MP_CAPABLE because the path is remembered as a blackhole.
	MPCapableSYNTXDisabled
	// MPCapableEndpAttempt counts MP_CAPABLE SYNs refused because they reached a port reserved for joins.
	MPCapableEndpAttempt
	// MPFallbackTokenInit counts fallbacks because no unique token could be allocated.
	MPFallbackTokenInit
	// MPTCPRetrans counts segments reinjected at the connection level.
	MPTCPRetrans
	// MPJoinNoTokenFound counts MP_JOIN SYNs naming no known connection.
	MPJoinNoTokenFound
	// MPJoinSynRx counts MP_JOIN SYNs received.
	MPJoinSynRx
	// MPJoinSynBackupRx counts MP_JOIN SYNs received with the backup flag.
	MPJoinSynBackupRx
	// MPJoinSynAckRx counts MP_JOIN SYN/ACKs received.
	MPJoinSynAckRx
	// MPJoinSynAckBackupRx counts MP_JOIN SYN/ACKs received with the backup flag.
	MPJoinSynAckBackupRx
	// MPJoinSynAckHMacFailure counts MP_JOIN SYN/ACKs whose HMAC was wrong.
	MPJoinSynAckHMacFailure
	// MPJoinAckRx counts MP_JOIN third ACKs received.
	MPJoinAckRx
	// MPJoinAckHMacFailure counts MP_JOIN third ACKs whose HMAC was wrong.
	MPJoinAckHMacFailure
	// MPJoinRejected counts MP_JOIN SYNs refused by the path manager or the subflow limit.
	MPJoinRejected
	// MPJoinSynTx counts MP_JOIN SYNs sent.
	MPJoinSynTx
	// MPJoinSynTxCreatSkErr counts joins not attempted because the subflow could not be created.
	MPJoinSynTxCreatSkErr
	// MPJoinSynTxBindErr counts joins not attempted because the local address could not be used.
	MPJoinSynTxBindErr
	// MPJoinSynTxConnectErr counts joins whose connect failed.
	MPJoinSynTxConnectErr
	// DSSNotMatching counts mappings that contradicted an earlier one.
	DSSNotMatching
	// DSSCorruptionFallback counts fallbacks after data corruption was detected.
	DSSCorruptionFallback
	// DSSCorruptionReset counts subflows reset after data corruption was detected.
	DSSCorruptionReset
	// InfiniteMapTx counts infinite mappings sent.
	InfiniteMapTx
	// InfiniteMapRx counts infinite mappings received.
	InfiniteMapRx
	// DSSNoMatchTCP counts mappings inconsistent with the subflow's own sequence space.
	DSSNoMatchTCP
	// DataCsumErr counts DSS checksum failures.
	DataCsumErr
	// OFOQueueTail counts segments appended at the tail of the out-of-order queue.
	OFOQueueTail
	// OFOQueue counts segments inserted into the out-of-order queue.
	OFOQueue
	// OFOMerge counts segments merged into existing out-of-order data.
	OFOMerge
	// NoDSSInWindow counts segments whose data lay outside the connection-level window.
	NoDSSInWindow
	// DuplicateData counts segments dropped because their data had already been received.
	DuplicateData
	// AddAddr counts ADD_ADDR options received (not echoes).
	AddAddr
	// AddAddrTx counts ADD_ADDR options sent.
	AddAddrTx
	// AddAddrTxDrop counts ADD_ADDR options that could not be sent.
	AddAddrTxDrop
	// EchoAdd counts ADD_ADDR echoes received.
	EchoAdd
	// EchoAddTx counts ADD_ADDR echoes sent.
	EchoAddTx
	// EchoAddTxDrop counts ADD_ADDR echoes that could not be sent.
	EchoAddTxDrop
	// PortAdd counts ADD_ADDR options received with a port.
	PortAdd
	// AddAddrDrop counts received ADD_ADDR options the path manager did not use.
	AddAddrDrop
	// MPJoinPortSynRx counts MP_JOIN SYNs received on an announced port.
	MPJoinPortSynRx
	// MPJoinPortSynAckRx counts MP_JOIN SYN/ACKs received from an announced port.
	MPJoinPortSynAckRx
	// MPJoinPortAckRx counts MP_JOIN third ACKs received on an announced port.
	MPJoinPortAckRx
	// MismatchPortSynRx counts MP_JOIN SYNs received on a port that was not announced.
	MismatchPortSynRx
	// MismatchPortAckRx counts MP_JOIN third ACKs received on a port that was not announced.
	MismatchPortAckRx
	// RmAddr counts REMOVE_ADDR options received.
	RmAddr
	// RmAddrDrop counts REMOVE_ADDR options received that named no known address.
	RmAddrDrop
	// RmAddrTx counts REMOVE_ADDR options sent.
	RmAddrTx
	// RmAddrTxDrop counts REMOVE_ADDR options that could not be sent.
	RmAddrTxDrop
	// RmSubflow counts subflows closed because of REMOVE_ADDR.
	RmSubflow
	// MPPrioTx counts MP_PRIO options sent.
	MPPrioTx
	// MPPrioRx counts MP_PRIO options received.
	MPPrioRx
	// MPFailTx counts MP_FAIL options sent.
	MPFailTx
	// MPFailRx counts MP_FAIL options received.
	MPFailRx
	// MPFastcloseTx counts MP_FASTCLOSE options sent.
	MPFastcloseTx
	// MPFastcloseRx counts MP_FASTCLOSE options received (with the right key).
	MPFastcloseRx
	// MPRstTx counts MP_TCPRST options sent.
	MPRstTx
	// MPRstRx counts MP_TCPRST options received.
	MPRstRx
	// SubflowStale counts subflows marked stale after retransmission timeouts.
	SubflowStale
	// SubflowRecover counts stale subflows that recovered.
	SubflowRecover
	// SndWndShared counts segments whose send window was limited by the shared connection window.
	SndWndShared
	// RcvWndShared counts segments advertising the shared connection-level receive window.
	RcvWndShared
	// RcvWndConflictUpdate counts receive window updates that raced with another subflow's.
	RcvWndConflictUpdate
	// RcvWndConflict counts receive window conflicts between subflows.
	RcvWndConflict
	// MPCurrEstab is the number of MPTCP connections currently established (a gauge).
	MPCurrEstab
	// Blackhole counts paths found to drop MP_CAPABLE SYNs.
	Blackhole
	// MPCapableDataFallback counts fallbacks because the first data carried neither MP_CAPABLE nor DSS.
	MPCapableDataFallback
	// MD5SigFallback counts fallbacks because of TCP-MD5 (never: the engine has no MD5 option).
	MD5SigFallback
	// DssFallback counts fallbacks because a subflow's DSS went missing or was invalid (options stripped).
	DssFallback
	// SimultConnectFallback counts fallbacks after a simultaneous open.
	SimultConnectFallback
	// FallbackFailed counts fallbacks the protocol required but the connection's state forbade (the subflow was reset instead).
	FallbackFailed
	// WinProbe counts connection-level zero-window probes sent.
	WinProbe
	// AddAddrHMacFailure counts received ADD_ADDR options whose HMAC was wrong. Not a kernel counter: the kernel ignores such options silently.
	AddAddrHMacFailure
	// FastcloseBadKey counts MP_FASTCLOSE options whose key was wrong, ignored. Not a kernel counter.
	FastcloseBadKey
	// SubflowRecreate counts subflows re-created by the path manager after a failure. Not a kernel counter.
	SubflowRecreate
	// ReinjectBytes counts bytes reinjected on another subflow. Not a kernel counter.
	ReinjectBytes
	// OpportunisticRetrans counts opportunistic retransmissions of the data a slower subflow holds while the receive window blocks new data or all data is sent (NSDI 2012). Not a kernel counter.
	OpportunisticRetrans
	// Penalise counts slow subflows penalised by halving their window (NSDI 2012). Not a kernel counter.
	Penalise
	// RcvPruned counts data dropped because the connection-level receive buffer was full. Not a kernel counter in MPTcpExt; the kernel counts TCPRcvQDrop.
	RcvPruned
	// NoDSSAckIgnored counts pure ACKs without any MPTCP option on a subflow that had them, ignored (forged, or a middlebox strips options from ACKs). Not a kernel counter: the kernel ignores them silently.
	NoDSSAckIgnored
	// UnmappedDrop counts runs of subflow bytes no mapping could cover (a middlebox merged segments and lost a mapping), dropped to be sent again at data level. Not a kernel counter.
	UnmappedDrop
	// DSSConflictReplaced counts mappings of bytes still out of order replaced by a later segment's conflicting mapping (one of them forged, or a middlebox rewrote one), instead of resetting the subflow. Not a kernel counter.
	DSSConflictReplaced
	// DSSOutOfOrderDrop counts out-of-order segments dropped because their mapping missed them or contradicted a settled one, instead of resetting the subflow. Not a kernel counter.
	DSSOutOfOrderDrop
	// NoDSSDataDrop counts data segments without MPTCP options dropped on a subflow where a DSS checksum was verified, instead of falling back (forged copies whose data offset shrank; after a run of them, the peer's fallback is followed). Not a kernel counter: the kernel resets the subflow.
	NoDSSDataDrop
	// MPCapableSYNCookie counts MPTCP connections completed from a SYN cookie (the keys came back on the third ACK). Not a kernel counter.
	MPCapableSYNCookie
	// MPJoinSYNCookie counts joins completed from a SYN cookie (their state kept in the join-cookie table until the third ACK). Not a kernel counter.
	MPJoinSYNCookie
	// MPJoinCookieDrop counts join SYNs dropped, the listener's half-open queue and the join-cookie table both full. Not a kernel counter.
	MPJoinCookieDrop
	// MPJoinCookieInvalid counts cookie ACKs of joins the join-cookie table did not hold (expired, or never answered) or whose connection closed meanwhile, refused with a RST. Not a kernel counter.
	MPJoinCookieInvalid
	// MPFailNoResponse counts subflows reset because the infinite mapping
	// asked for with MP_FAIL did not come within mpFailTimeout. Not a
	// kernel counter.
	MPFailNoResponse
	// MPFastOpenActive counts MPTCP connections whose SYN carried data
	// the server took (TCP Fast Open, RFC 8684 appendix B). Not a kernel
	// counter: the kernel counts it as TCPFastOpenActive.
	MPFastOpenActive
	// MPFastOpenPassive counts MPTCP connections whose client's SYN data
	// was taken and delivered ahead of the data stream. Not a kernel
	// counter: the kernel counts it as TCPFastOpenPassive.
	MPFastOpenPassive

	numCounters
)

// numKernelCounters is how many of the counters the kernel also has.
const numKernelCounters = 76

var counterNames = [numCounters]string{
	MPCapableSYNRX:          "MPCapableSYNRX",
	MPCapableSYNTX:          "MPCapableSYNTX",
	MPCapableSYNACKRX:       "MPCapableSYNACKRX",
	MPCapableACKRX:          "MPCapableACKRX",
	MPCapableFallbackACK:    "MPCapableFallbackACK",
	MPCapableFallbackSYNACK: "MPCapableFallbackSYNACK",
	MPCapableSYNTXDrop:      "MPCapableSYNTXDrop",
	MPCapableSYNTXDisabled:  "MPCapableSYNTXDisabled",
	MPCapableEndpAttempt:    "MPCapableEndpAttempt",
	MPFallbackTokenInit:     "MPFallbackTokenInit",
	MPTCPRetrans:            "MPTCPRetrans",
	MPJoinNoTokenFound:      "MPJoinNoTokenFound",
	MPJoinSynRx:             "MPJoinSynRx",
	MPJoinSynBackupRx:       "MPJoinSynBackupRx",
	MPJoinSynAckRx:          "MPJoinSynAckRx",
	MPJoinSynAckBackupRx:    "MPJoinSynAckBackupRx",
	MPJoinSynAckHMacFailure: "MPJoinSynAckHMacFailure",
	MPJoinAckRx:             "MPJoinAckRx",
	MPJoinAckHMacFailure:    "MPJoinAckHMacFailure",
	MPJoinRejected:          "MPJoinRejected",
	MPJoinSynTx:             "MPJoinSynTx",
	MPJoinSynTxCreatSkErr:   "MPJoinSynTxCreatSkErr",
	MPJoinSynTxBindErr:      "MPJoinSynTxBindErr",
	MPJoinSynTxConnectErr:   "MPJoinSynTxConnectErr",
	DSSNotMatching:          "DSSNotMatching",
	DSSCorruptionFallback:   "DSSCorruptionFallback",
	DSSCorruptionReset:      "DSSCorruptionReset",
	InfiniteMapTx:           "InfiniteMapTx",
	InfiniteMapRx:           "InfiniteMapRx",
	DSSNoMatchTCP:           "DSSNoMatchTCP",
	DataCsumErr:             "DataCsumErr",
	OFOQueueTail:            "OFOQueueTail",
	OFOQueue:                "OFOQueue",
	OFOMerge:                "OFOMerge",
	NoDSSInWindow:           "NoDSSInWindow",
	DuplicateData:           "DuplicateData",
	AddAddr:                 "AddAddr",
	AddAddrTx:               "AddAddrTx",
	AddAddrTxDrop:           "AddAddrTxDrop",
	EchoAdd:                 "EchoAdd",
	EchoAddTx:               "EchoAddTx",
	EchoAddTxDrop:           "EchoAddTxDrop",
	PortAdd:                 "PortAdd",
	AddAddrDrop:             "AddAddrDrop",
	MPJoinPortSynRx:         "MPJoinPortSynRx",
	MPJoinPortSynAckRx:      "MPJoinPortSynAckRx",
	MPJoinPortAckRx:         "MPJoinPortAckRx",
	MismatchPortSynRx:       "MismatchPortSynRx",
	MismatchPortAckRx:       "MismatchPortAckRx",
	RmAddr:                  "RmAddr",
	RmAddrDrop:              "RmAddrDrop",
	RmAddrTx:                "RmAddrTx",
	RmAddrTxDrop:            "RmAddrTxDrop",
	RmSubflow:               "RmSubflow",
	MPPrioTx:                "MPPrioTx",
	MPPrioRx:                "MPPrioRx",
	MPFailTx:                "MPFailTx",
	MPFailRx:                "MPFailRx",
	MPFastcloseTx:           "MPFastcloseTx",
	MPFastcloseRx:           "MPFastcloseRx",
	MPRstTx:                 "MPRstTx",
	MPRstRx:                 "MPRstRx",
	SubflowStale:            "SubflowStale",
	SubflowRecover:          "SubflowRecover",
	SndWndShared:            "SndWndShared",
	RcvWndShared:            "RcvWndShared",
	RcvWndConflictUpdate:    "RcvWndConflictUpdate",
	RcvWndConflict:          "RcvWndConflict",
	MPCurrEstab:             "MPCurrEstab",
	Blackhole:               "Blackhole",
	MPCapableDataFallback:   "MPCapableDataFallback",
	MD5SigFallback:          "MD5SigFallback",
	DssFallback:             "DssFallback",
	SimultConnectFallback:   "SimultConnectFallback",
	FallbackFailed:          "FallbackFailed",
	WinProbe:                "WinProbe",
	AddAddrHMacFailure:      "AddAddrHMacFailure",
	FastcloseBadKey:         "FastcloseBadKey",
	SubflowRecreate:         "SubflowRecreate",
	ReinjectBytes:           "ReinjectBytes",
	OpportunisticRetrans:    "OpportunisticRetrans",
	Penalise:                "Penalise",
	NoDSSAckIgnored:         "NoDSSAckIgnored",
	UnmappedDrop:            "UnmappedDrop",
	DSSConflictReplaced:     "DSSConflictReplaced",
	DSSOutOfOrderDrop:       "DSSOutOfOrderDrop",
	NoDSSDataDrop:           "NoDSSDataDrop",
	MPCapableSYNCookie:      "MPCapableSYNCookie",
	MPJoinSYNCookie:         "MPJoinSYNCookie",
	MPJoinCookieDrop:        "MPJoinCookieDrop",
	MPJoinCookieInvalid:     "MPJoinCookieInvalid",
	MPFailNoResponse:        "MPFailNoResponse",
	MPFastOpenActive:        "MPFastOpenActive",
	MPFastOpenPassive:       "MPFastOpenPassive",
	RcvPruned:               "RcvPruned",
}

// String returns the counter's name as the kernel spells it.
func (c Counter) String() string {
	if c < numCounters {
		return counterNames[c]
	}
	return fmt.Sprintf("Counter(%d)", uint8(c))
}

// Kernel reports whether the Linux kernel has a counter of this name.
func (c Counter) Kernel() bool { return c < numKernelCounters }

// Counters returns every counter in order.
func Counters() []Counter {
	cs := make([]Counter, numCounters)
	for i := range cs {
		cs[i] = Counter(i)
	}
	return cs
}

// CounterByName returns the counter called name (case-sensitive, as the
// kernel prints it).
func CounterByName(name string) (Counter, bool) {
	for i, n := range counterNames {
		if n == name {
			return Counter(i), true
		}
	}
	return 0, false
}

// MIB holds a stack's counters. The zero value is ready to use. It is not
// safe for concurrent use: the stack updates it from its one loop, and
// readers take a Snapshot there.
type MIB struct {
	c [numCounters]uint64
}

// Inc adds one to c.
func (m *MIB) Inc(c Counter) { m.c[c]++ }

// Add adds n to c.
func (m *MIB) Add(c Counter, n uint64) { m.c[c] += n }

// Dec subtracts one from c; only gauges (MPCurrEstab) go down.
func (m *MIB) Dec(c Counter) {
	if m.c[c] > 0 {
		m.c[c]--
	}
}

// Get returns the value of c.
func (m *MIB) Get(c Counter) uint64 { return m.c[c] }

// Snapshot returns a copy of every counter.
func (m *MIB) Snapshot() MIBSnapshot { return MIBSnapshot{c: m.c} }

// MIBSnapshot is a copy of a stack's counters at one instant.
type MIBSnapshot struct {
	c [numCounters]uint64
}

// Get returns the value of c.
func (s MIBSnapshot) Get(c Counter) uint64 { return s.c[c] }

// Add returns the counters of s and o summed: the counters of a host
// whose connections several stacks share.
func (s MIBSnapshot) Add(o MIBSnapshot) MIBSnapshot {
	for i := range s.c {
		s.c[i] += o.c[i]
	}
	return s
}

// Map returns the non-zero counters by name (all of them when all is
// set), as nstat prints them.
func (s MIBSnapshot) Map(all bool) map[string]uint64 {
	m := make(map[string]uint64)
	for i, v := range s.c {
		if v != 0 || all {
			m[counterNames[i]] = v
		}
	}
	return m
}

// Sub returns the change from earlier to s, counter by counter, for
// reporting what one test or one run did.
func (s MIBSnapshot) Sub(earlier MIBSnapshot) MIBSnapshot {
	var d MIBSnapshot
	for i := range s.c {
		d.c[i] = s.c[i] - earlier.c[i]
	}
	return d
}

// String renders the non-zero counters as "MPTcpExtName value" lines, the
// format of nstat.
func (s MIBSnapshot) String() string {
	var sb strings.Builder
	for i, v := range s.c {
		if v != 0 {
			fmt.Fprintf(&sb, "MPTcpExt%-28s %d\n", counterNames[i], v)
		}
	}
	return sb.String()
}
