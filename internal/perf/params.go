package perf

import (
	"errors"
	"fmt"
	"time"
)

// Params are what the client asks of a test; the server follows them.
type Params struct {
	// Reverse makes the server send and the client receive.
	Reverse bool `json:"reverse"`
	// Duration is how long the sender sends, unless Bytes is set.
	Duration time.Duration `json:"duration_ns"`
	// Bytes, when positive, is the total the sender sends, shared evenly
	// among the streams, instead of sending for Duration.
	Bytes int64 `json:"bytes,omitempty"`
	// Streams is the number of data connections (default 1).
	Streams int `json:"streams"`
	// Verify has the receiver check every byte against the pattern.
	Verify bool `json:"verify"`
	// BlockSize is the size of each write and read (default 128 KiB).
	BlockSize int `json:"block_size"`
}

// Defaults and bounds of Params.
const (
	DefaultDuration  = 10 * time.Second
	DefaultBlockSize = 128 << 10
	MaxStreams       = 128
	MaxBlockSize     = 16 << 20
	MaxDuration      = 24 * time.Hour
)

// ErrParams is wrapped by the errors of invalid parameters.
var ErrParams = errors.New("invalid test parameters")

// withDefaults returns p with its zero fields defaulted, or an error
// naming what is wrong.
func (p Params) withDefaults() (Params, error) {
	if p.Streams == 0 {
		p.Streams = 1
	}
	if p.BlockSize == 0 {
		p.BlockSize = DefaultBlockSize
	}
	if p.Duration == 0 && p.Bytes == 0 {
		p.Duration = DefaultDuration
	}
	switch {
	case p.Streams < 1 || p.Streams > MaxStreams:
		return p, fmt.Errorf("%w: %d streams, want 1..%d", ErrParams, p.Streams, MaxStreams)
	case p.BlockSize < 1 || p.BlockSize > MaxBlockSize:
		return p, fmt.Errorf("%w: block size %d, want 1..%d", ErrParams, p.BlockSize, MaxBlockSize)
	case p.Bytes < 0:
		return p, fmt.Errorf("%w: negative byte count %d", ErrParams, p.Bytes)
	case p.Duration < 0 || p.Duration > MaxDuration:
		return p, fmt.Errorf("%w: duration %v, want 0..%v", ErrParams, p.Duration, MaxDuration)
	}
	if p.Bytes > 0 {
		p.Duration = 0
	}
	return p, nil
}

// streamBytes returns the bytes stream i of n sends when the test sends
// total bytes: an even share, the remainder spread over the first ones.
func streamBytes(total int64, i, n int) int64 {
	share := total / int64(n)
	if int64(i) < total%int64(n) {
		share++
	}
	return share
}
