package kpm

import (
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
	"syscall"
)

var (
	// ErrNotSupported reports a kernel without MPTCP: the mptcp_pm generic
	// netlink family is not registered.
	ErrNotSupported = errors.New("this kernel has no MPTCP path manager (generic netlink family mptcp_pm not found; is MPTCP built in?)")

	// ErrPermission reports that the kernel refused a request for lack of
	// privilege: changing the path manager and receiving its events need
	// CAP_NET_ADMIN.
	ErrPermission = errors.New("permission denied: the kernel's MPTCP path manager needs CAP_NET_ADMIN (run as root)")
)

// KernelError is a request the kernel refused. Message is the kernel's own
// explanation from the netlink extended acknowledgement, when it gave one.
type KernelError struct {
	Op      string        // what was asked, such as "add endpoint"
	Errno   syscall.Errno // the kernel's error code
	Message string        // extended-ack text, possibly empty
}

// Error gives the operation and the kernel's answer; a refusal for want
// of privilege reads as ErrPermission.
func (e *KernelError) Error() string {
	if e.Errno == syscall.EPERM || e.Errno == syscall.EACCES {
		return e.Op + ": " + ErrPermission.Error()
	}
	if e.Message != "" {
		return fmt.Sprintf("%s: kernel: %s (%v)", e.Op, e.Message, e.Errno)
	}
	return fmt.Sprintf("%s: kernel: %v", e.Op, e.Errno)
}

// Unwrap returns the errno, so that errors.Is(err, syscall.EEXIST) works.
func (e *KernelError) Unwrap() error { return e.Errno }

// Is makes errors.Is(err, ErrPermission) hold for EPERM and EACCES.
func (e *KernelError) Is(target error) bool {
	return target == ErrPermission && (e.Errno == syscall.EPERM || e.Errno == syscall.EACCES)
}

// opError turns an error from the netlink library into a KernelError when
// the kernel answered with an error code, and wraps anything else with op.
func opError(op string, err error) error {
	if err == nil {
		return nil
	}
	var oe *netlink.OpError
	if errors.As(err, &oe) {
		var errno syscall.Errno
		if errors.As(oe.Err, &errno) {
			return &KernelError{Op: op, Errno: errno, Message: oe.Message}
		}
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return &KernelError{Op: op, Errno: errno}
	}
	return fmt.Errorf("%s: %w", op, err)
}
