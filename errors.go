package mptcp

import (
	"errors"
	"net"
	"syscall"

	"github.com/mptcp-go/mptcp/tcp"
)

// kernelErrno maps the stack's errors to the errno a Linux socket returns
// for the same condition, so that errors.Is(err, syscall.ECONNRESET) and
// the like hold as they do for the net package's connections.
var kernelErrno = [...]struct {
	err   error
	errno syscall.Errno
}{
	{tcp.ErrConnectionRefused, syscall.ECONNREFUSED},
	{tcp.ErrConnectionReset, syscall.ECONNRESET},
	{tcp.ErrTimeout, syscall.ETIMEDOUT},
	{tcp.ErrConnectionAborted, syscall.ECONNABORTED},
	{tcp.ErrWriteClosed, syscall.EPIPE},
	{tcp.ErrNotConnected, syscall.ENOTCONN},
	{tcp.ErrAddrInUse, syscall.EADDRINUSE},
	{tcp.ErrAddrNotAvailable, syscall.EADDRNOTAVAIL},
	{tcp.ErrUnreachable, syscall.EHOSTUNREACH},
	{tcp.ErrInvalid, syscall.EINVAL},
}

// errnoError is a stack error with the errno the kernel would give.
// errors.Is matches both; its text is the errno's when the stack's error
// says nothing more.
type errnoError struct {
	errno syscall.Errno
	err   error
}

func (e *errnoError) Error() string {
	if errors.Unwrap(e.err) == nil {
		return e.errno.Error()
	}
	return e.err.Error()
}

func (e *errnoError) Unwrap() []error { return []error{e.errno, e.err} }

// Timeout reports whether the error is a timeout (ETIMEDOUT), for
// net.Error.
func (e *errnoError) Timeout() bool { return e.errno.Timeout() }

// Temporary is the errno's, for net.Error.
func (e *errnoError) Temporary() bool { return e.errno.Temporary() }

// withErrno returns err with the errno the kernel gives for it, or err
// as it is when it has none (io.EOF, net.ErrClosed, a context's error).
func withErrno(err error) error {
	if err == nil || errors.Is(err, net.ErrClosed) {
		return err
	}
	var already *errnoError
	if errors.As(err, &already) {
		return err
	}
	for _, k := range kernelErrno {
		if errors.Is(err, k.err) {
			return &errnoError{k.errno, err}
		}
	}
	return err
}

// opError wraps err as the net package does: a *net.OpError naming the
// operation and the addresses, around the kernel's errno.
func opError(op string, source, addr net.Addr, err error) error {
	if err == nil {
		return nil
	}
	return &net.OpError{Op: op, Net: "tcp", Source: source, Addr: addr, Err: withErrno(err)}
}
