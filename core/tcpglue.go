package core

import (
	"time"

	"github.com/mptcp-go/mptcp/tcp"
)

// penalize halves a subflow's congestion window and ssthresh (NSDI 2012
// penalisation); the engine acts at most once per RTT and reports whether
// it did.
func penalize(tc *tcp.Conn, now time.Time) bool { return tc.Penalize(now) }
