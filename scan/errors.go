package scan

import "errors"

// Sentinel errors, for callers that branch on why a scan could not start.
var (
	// ErrBadTarget reports a target that is not a host, host:port or CIDR
	// range, or names something that cannot be probed.
	ErrBadTarget = errors.New("bad target")
	// ErrTooManyTargets reports targets that expand to more addresses than
	// the caller allowed.
	ErrTooManyTargets = errors.New("too many targets")
	// ErrPermission reports that raw sockets could not be opened for lack of
	// privilege (root or CAP_NET_RAW).
	ErrPermission = errors.New("raw sockets need root or CAP_NET_RAW")
)
