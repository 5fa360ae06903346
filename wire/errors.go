package wire

import "errors"

// Sentinel errors. Decoders wrap them with the detail of what was wrong, so
// callers branch with errors.Is and logs still say which field failed.
var (
	// ErrTruncated reports a buffer shorter than the structure it should hold.
	ErrTruncated = errors.New("wire: truncated")
	// ErrBadLength reports a length field that is impossible or inconsistent.
	ErrBadLength = errors.New("wire: bad length")
	// ErrBadOption reports a malformed option: one that runs past the header,
	// or whose contents are impossible (for example a forbidden flag combination).
	ErrBadOption = errors.New("wire: malformed option")
	// ErrOptionSpace reports that an option does not fit in the 40 bytes of
	// TCP option space left in a segment.
	ErrOptionSpace = errors.New("wire: option space exhausted")
	// ErrBadVersion reports an IP header whose version does not match.
	ErrBadVersion = errors.New("wire: bad IP version")
	// ErrFragment reports an IP fragment, which the stack does not reassemble.
	ErrFragment = errors.New("wire: IP fragment")
	// ErrNotTCP reports an IP packet that carries another protocol.
	ErrNotTCP = errors.New("wire: not TCP")
)
