//go:build !linux

package sockdiag

import (
	"errors"

	"github.com/mptcp-go/mptcp/observe"
)

// Options choose what List returns.
type Options struct {
	TCP, Listening bool
}

// List fails: sock_diag is Linux's.
func List(Options) ([]observe.Socket, error) {
	return nil, errors.New("sock_diag: the kernel's MPTCP sockets can be listed on Linux only")
}
