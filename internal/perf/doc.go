// Package perf measures the throughput of stream connections, as iperf3
// does, over any net.Conn and net.Listener: the user-space MPTCP stack
// (package mptcp), the kernel's MPTCP or TCP through Go's net package, or
// an in-memory pipe.
//
// A test is one control connection and one or more data connections (the
// streams), all opened by the client. Over the control connection the
// client says what to do (direction, duration or byte count, streams,
// verification), the server says when to start, and at the end each side
// tells the other what it measured. The sender writes a fixed pattern
// that the receiver can check byte for byte at any offset (Params.Verify),
// so a lost, duplicated or misplaced byte is caught.
//
// Both sides report per interval and at the end. When a connection is the
// user-space stack's, or a kernel socket, the report has per-subflow
// figures: each subflow's bytes, smoothed RTT, congestion window and
// retransmissions (see Inspect). The protocol is this package's own; it
// does not speak iperf3's.
package perf
