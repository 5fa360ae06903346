package tcp

import "time"

// Stats are one connection's counters and current estimates, as Linux's
// tcp_info reports them. Counters only grow; the estimates are a snapshot
// taken by Conn.Info.
type Stats struct {
	// Segments and bytes. Bytes count payload only.
	SegsOut, SegsIn         uint64
	DataSegsOut, DataSegsIn uint64
	BytesSent               uint64 // payload sent, retransmissions included
	BytesRetrans            uint64
	BytesAcked              uint64 // payload acknowledged by the peer
	BytesReceived           uint64 // payload accepted in order

	// Loss recovery.
	Retransmits     uint64 // segments retransmitted, all causes
	RTOs            uint64 // retransmission timeouts
	RTOsInRow       int    // timeouts since the last acknowledgment of new data (snapshot)
	FastRecoveries  uint64 // recovery episodes entered by RACK/SACK loss detection
	TLPs            uint64 // tail loss probes sent
	TLPRecoveries   uint64 // losses repaired by a tail loss probe
	SpuriousRTOs    uint64 // timeouts shown spurious by timestamps (Eifel)
	Undos           uint64 // congestion responses undone
	DupACKs         uint64 // ACKs that acknowledged nothing new while data was outstanding
	DSACKsReceived  uint64
	DSACKsSent      uint64
	OutOfOrderSegs  uint64 // data segments received above rcv.nxt
	ReorderSeen     uint64 // segments found delivered out of order (RACK)
	ZeroWindowProbe uint64 // zero-window probes sent
	KeepaliveProbes uint64
	DelayedACKs     uint64 // ACKs sent by the delayed-ACK timer
	ChallengeACKs   uint64
	PAWSDrops       uint64 // segments dropped by PAWS
	PAWSRollbacks   uint64 // TS.Recent jumps undone by a newer segment of the peer (tsrecent.go)
	TSJumpDrops     uint64 // segments dropped for a timestamp no peer clock can reach (tsrecent.go)
	BadSegments     uint64 // unacceptable segments (sequence or ACK out of window)
	OldACKSignals   uint64 // of which pure ACKs from before RCV.NXT shown to hooks for their signals (KindOldACK)
	ResetsOnClose   uint64
	Penalties       uint64 // window reductions asked for by Penalize
	PMTUUpdates     uint64 // MSS reductions from ICMP packet-too-big
	IdleRestarts    uint64 // windows restarted after an idle period

	// Snapshot (Conn.Info).
	State         State
	SRTT, RTTVar  time.Duration
	MinRTT        time.Duration
	RTO           time.Duration
	Cwnd          int // bytes
	Ssthresh      int // bytes
	PacingRate    float64
	InFlight      int // bytes
	SendWindow    int // peer's advertised window, bytes
	ReceiveBuffer int // current receive buffer (auto-tuned)
	MSS           int
	SACKed, Lost  int     // bytes in the scoreboard
	DeliveryRate  float64 // bytes per second, last sample
}

// StackStats are a stack's counters, named after Linux's Tcp and TcpExt
// MIBs where one exists.
type StackStats struct {
	ActiveOpens     uint64 // Dial
	PassiveOpens    uint64 // connections established from a listener
	AttemptFails    uint64 // handshakes that failed
	EstabResets     uint64 // synchronized connections reset
	CurrEstab       int    // connections in ESTABLISHED or CLOSE-WAIT now
	InSegs          uint64
	OutSegs         uint64
	RetransSegs     uint64
	InErrs          uint64 // segments dropped as malformed
	InCsumErrors    uint64
	OutRsts         uint64
	NoPort          uint64 // segments for no connection or listener, answered by RST
	NotOurs         uint64 // packets for addresses the stack does not own
	BadOptions      uint64 // segments with malformed options (the rest is used)
	ControlDrops    uint64 // stateless replies dropped because their queue was full
	ICMPErrors      uint64 // ICMP errors applied to a connection
	ICMPOutOfWindow uint64 // ICMP errors whose quoted sequence number was not in flight
	Conns           int    // connections the stack holds now
	TimeWaitConns   int    // TIME-WAIT entries now

	SyncookiesSent   uint64
	SyncookiesRecv   uint64
	SyncookiesFailed uint64
	ListenOverflows  uint64 // accept queue full
	ListenDrops      uint64 // SYNs dropped
	TimeWaitOverflow uint64 // closes that skipped TIME-WAIT (table full)
	TimeWaitRecycled uint64 // TIME-WAIT entries replaced by a new SYN
	PAWSEstab        uint64
	PAWSRollbacks    uint64 // see Stats
	TSJumpDrops      uint64 // see Stats
	ChallengeACKs    uint64
	ChallengeLimited uint64 // challenge ACKs suppressed by the rate limit
	DelayedACKs      uint64
	FastRecoveries   uint64
	TLPs             uint64
	RTOs             uint64
	SpuriousRTOs     uint64
	AbortOnData      uint64 // data arriving after Close
	AbortOnClose     uint64 // Close with unread data
	AbortOnTimeout   uint64
	AbortOnLinger    uint64 // FIN-WAIT-2 timeouts

	// TCP Fast Open (RFC 7413), as Linux's TCPFastOpen* counters.
	FastOpenActive         uint64 // SYNs whose data the server took
	FastOpenActiveFail     uint64 // SYNs with data the server did not take (all sent again)
	FastOpenPassive        uint64 // SYNs whose data was taken with a valid cookie
	FastOpenPassiveFail    uint64 // SYNs with a wrong cookie
	FastOpenPassiveAltKey  uint64 // cookies valid under the previous key
	FastOpenListenOverflow uint64 // SYN data refused: the listener's FastOpenQueue was full
	FastOpenCookieReqd     uint64 // cookie requests answered
}
