package core

import (
	"time"

	"github.com/mptcp-go/mptcp/tcp"
)

// penalize halves a subflow's congestion window (NSDI 2012
// penalisation). The TCP engine has no hook for it yet
// (/work/notes/tcp-requests.md, item C): until it does this reports false
// and only the opportunistic retransmission happens.
func penalize(tc *tcp.Conn, now time.Time) bool { return false }
