package core

import (
	"fmt"

	"github.com/mptcp-go/mptcp/tcp"
)

// Errors returned by connections, listeners and the stack. Callers branch
// on them with errors.Is. Where the TCP engine has an error for the same
// condition, the core returns that one, so a wrapper maps both the same
// way to what the standard library returns.
var (
	// ErrWouldBlock: Accept found no connection ready, or Read found no
	// data yet.
	ErrWouldBlock = tcp.ErrWouldBlock
	// ErrClosed: the application already closed the connection or
	// listener. It matches net.ErrClosed.
	ErrClosed = tcp.ErrClosed
	// ErrWriteClosed: Write after CloseWrite or Close.
	ErrWriteClosed = tcp.ErrWriteClosed
	// ErrConnectionReset: the peer reset the connection: MP_FASTCLOSE, or
	// a RST on the only subflow of a connection that fell back.
	ErrConnectionReset = tcp.ErrConnectionReset
	// ErrConnectionRefused: the initial subflow's SYN was answered by RST.
	ErrConnectionRefused = tcp.ErrConnectionRefused
	// ErrTimeout: the connection lost every path for longer than it waits
	// for one to come back, or the handshake timed out.
	ErrTimeout = tcp.ErrTimeout
	// ErrConnectionAborted: the local side aborted (Abort, MP_FASTCLOSE
	// sent).
	ErrConnectionAborted = tcp.ErrConnectionAborted
	// ErrNoAddress: no local address can reach the remote one.
	ErrNoAddress = fmt.Errorf("mptcp: no usable local address: %w", tcp.ErrAddrNotAvailable)
	// ErrInvalid: an invalid argument or configuration.
	ErrInvalid = tcp.ErrInvalid
)
