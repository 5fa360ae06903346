// Package cc holds the congestion controllers of the TCP engine, behind one
// narrow, event-shaped interface, chosen by name from a registry.
//
// The controllers are sans-I/O: every event carries the current time, no
// controller reads a clock, starts a goroutine or draws a random number, and
// the event methods do not allocate. Windows are counted in bytes.
//
// # How the engine drives a Controller
//
// One Controller serves one TCP connection (one MPTCP subflow). The engine
// calls it from its single processing loop, never concurrently:
//
//   - OnPacketSent for every data segment it transmits, new or retransmitted,
//     with the bytes in flight before the segment left.
//   - OnAck once per incoming ACK that newly acknowledges data, after the
//     engine has updated its RTT estimator and its SACK scoreboard and before
//     it uses Window to decide what to send next. Acked counts every byte
//     once, when it is first acknowledged, cumulatively or by SACK: a later
//     cumulative ACK that covers already SACKed bytes does not count them
//     again. Duplicate ACKs that acknowledge nothing new need not be passed.
//   - OnCongestionEvent when loss recovery starts: fast retransmit after
//     DupThresh duplicate ACKs or the RFC 6675 / RFC 8985 loss rules, or an
//     ECN-Echo. The engine enforces "once per window of data" (RFC 5681,
//     RFC 6582, RFC 6675): it records the recovery point (SND.NXT at the event)
//     and reports no further congestion event for losses of data sent before
//     that point. As a safeguard a Controller ignores a congestion event that
//     arrives while it is still in recovery.
//   - OnRecoveryExit when SND.UNA reaches the recovery point. Until then the
//     Controller does not grow its window. The engine owns the sending
//     decision during recovery: it either sends while pipe < Window()
//     (RFC 6675) or, preferably, runs Proportional Rate Reduction (RFC 6937)
//     with SlowStartThreshold() as the target it converges to. On exit the
//     window is SlowStartThreshold() (RFC 6582's second option; with PRR the
//     flight size is already close to it, so no burst follows).
//   - OnRTO when the retransmission timer fires (after backing the timer
//     off). The window collapses to one segment; a Controller remembers that
//     a timeout is outstanding and does not reduce ssthresh again for a
//     repeated timeout of the same data. An RTO ends any fast recovery:
//     the engine does not call OnRecoveryExit for it, and, as for a
//     congestion event, SND.NXT at the timeout is the recovery point: losses
//     of data sent before it start no congestion event.
//   - OnSpuriousCongestion when the engine learns that the last congestion
//     event or timeout was spurious (F-RTO, RFC 5682; DSACK, RFC 3708; Eifel,
//     RFC 3522). The Controller restores the window state it had before the
//     event and leaves recovery.
//   - SetMSS when the effective MSS changes (MSS option, PMTU discovery).
//
// For one incoming ACK the order is: update the RTT estimator and the
// scoreboard; OnRecoveryExit if the ACK completes recovery; OnCongestionEvent
// if it reveals a loss that starts a new one; then OnAck (which does not grow
// the window while in recovery); then send what Window allows.
//
// Window, SlowStartThreshold, InSlowStart and PacingRate may be read at any
// time. The engine sends new data only while its bytes in flight stay below
// min(Window(), peer's receive window). An engine that paces (Params.Pacing)
// spaces segments at PacingRate; HyStart++ then sees the queue build
// smoothly and leaves slow start with far fewer losses than an engine that
// sends each window as a burst.
package cc
