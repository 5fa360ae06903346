package tcp

import (
	"errors"
	"fmt"
	"net"
)

// Errors returned by connections and the stack. Callers branch on them with
// errors.Is; a blocking net.Conn wrapper maps them to what the standard
// library returns for the same condition (ECONNRESET, ECONNREFUSED,
// ETIMEDOUT, ...).
var (
	// ErrConnectionReset reports a RST received on a synchronized
	// connection (ECONNRESET).
	ErrConnectionReset = errors.New("tcp: connection reset by peer")
	// ErrConnectionRefused reports a RST answering our SYN (ECONNREFUSED).
	ErrConnectionRefused = errors.New("tcp: connection refused")
	// ErrTimeout reports a connection given up after its retransmissions,
	// SYN retransmissions or keepalive probes went unanswered (ETIMEDOUT).
	ErrTimeout = timeoutError{}
	// ErrConnectionAborted reports a connection the local side aborted:
	// Abort, a hook's verdict, or data arriving after Close (ECONNABORTED).
	ErrConnectionAborted = errors.New("tcp: connection aborted")
	// ErrClosed reports an operation on a connection or listener that the
	// application already closed. It matches net.ErrClosed.
	ErrClosed = fmt.Errorf("tcp: %w", net.ErrClosed)
	// ErrWriteClosed reports a Write after CloseWrite or Close (EPIPE).
	ErrWriteClosed = errors.New("tcp: write after close")
	// ErrNotConnected reports a Write before the handshake could accept
	// data, or on a connection that never was (ENOTCONN).
	ErrNotConnected = errors.New("tcp: not connected")
	// ErrAddrInUse reports a listen or dial on an address and port already
	// taken (EADDRINUSE).
	ErrAddrInUse = errors.New("tcp: address already in use")
	// ErrAddrNotAvailable reports a local address the stack does not own,
	// or no free ephemeral port (EADDRNOTAVAIL).
	ErrAddrNotAvailable = errors.New("tcp: address not available")
	// ErrInvalid reports an invalid argument: a bad address, an unknown
	// congestion control, an impossible configuration (EINVAL).
	ErrInvalid = errors.New("tcp: invalid argument")
	// ErrUnreachable reports, along with ErrTimeout, that ICMP said the
	// peer could not be reached (EHOSTUNREACH).
	ErrUnreachable = errors.New("tcp: no route to host")
	// ErrWouldBlock reports that Accept found no connection ready.
	ErrWouldBlock = errors.New("tcp: operation would block")
)

// timeoutError is ErrTimeout: it satisfies net.Error with Timeout() true,
// as the standard library's ETIMEDOUT does.
type timeoutError struct{}

func (timeoutError) Error() string   { return "tcp: connection timed out" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
