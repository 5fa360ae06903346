package perf

import (
	"net"
	"time"

	"github.com/mptcp-go/mptcp"
)

// ConnStats is what can be learnt about a connection from its endpoint:
// which stack runs it, whether it is MPTCP, and its subflows.
type ConnStats struct {
	// Stack is "user" (package mptcp), "kernel" (a kernel socket) or ""
	// (unknown: no per-subflow figures).
	Stack string `json:"stack,omitempty"`
	// MPTCP reports a connection speaking MPTCP; FellBack one that tried
	// and fell back to TCP.
	MPTCP    bool `json:"mptcp"`
	FellBack bool `json:"fell_back,omitempty"`
	// Subflows are the connection's subflows; a plain TCP connection is
	// one subflow. Nil when the stack is unknown.
	Subflows []SubflowStats `json:"subflows,omitempty"`
}

// SubflowStats are one subflow's figures.
type SubflowStats struct {
	Local  string `json:"local"`
	Remote string `json:"remote"`
	// BytesSent is the payload the subflow delivered (acknowledged, for a
	// kernel socket, handed to the subflow for the user-space stack) and
	// BytesReceived the payload it received.
	BytesSent     uint64        `json:"bytes_sent"`
	BytesReceived uint64        `json:"bytes_received"`
	SRTT          time.Duration `json:"srtt_ns"`
	// Cwnd is the congestion window in bytes.
	Cwnd        int    `json:"cwnd_bytes"`
	Retransmits uint64 `json:"retransmits"`
	Backup      bool   `json:"backup,omitempty"`
}

// infoConn is a connection of the user-space stack.
type infoConn interface {
	Info() mptcp.ConnInfo
}

// Inspect returns what c's endpoint tells of it: for a connection of the
// user-space stack, its ConnInfo; for a kernel socket (*net.TCPConn), the
// kernel's MPTCP_INFO, MPTCP_TCPINFO and MPTCP_SUBFLOW_ADDRS, or TCP_INFO
// for a plain TCP socket (Linux only). Other connections give an empty
// ConnStats.
func Inspect(c net.Conn) ConnStats {
	switch c := c.(type) {
	case infoConn:
		return userStats(c.Info())
	case *net.TCPConn:
		return kernelStats(c)
	}
	return ConnStats{}
}

func userStats(ci mptcp.ConnInfo) ConnStats {
	cs := ConnStats{Stack: "user", MPTCP: !ci.FellBack, FellBack: ci.FellBack && ci.FallbackReason != ""}
	for _, sf := range ci.Subflows {
		cs.Subflows = append(cs.Subflows, SubflowStats{
			Local: sf.Local.String(), Remote: sf.Remote.String(),
			BytesSent: sf.BytesSent, BytesReceived: sf.BytesReceived,
			SRTT: sf.SRTT, Cwnd: sf.Cwnd, Retransmits: sf.Retransmits, Backup: sf.Backup,
		})
	}
	return cs
}

// unacked returns the bytes written to c that the peer has not yet
// acknowledged, if c's stack tells.
func unacked(c net.Conn) (int64, bool) {
	switch c := c.(type) {
	case infoConn:
		return int64(c.Info().SendBuffered), true
	case *net.TCPConn:
		return kernelUnacked(c)
	}
	return 0, false
}
