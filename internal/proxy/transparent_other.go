//go:build !linux

package proxy

import (
	"context"
	"errors"
	"net"
	"net/netip"
)

var errTransparentLinux = errors.New("transparent proxying is only supported on Linux")

func originalDst(net.Conn) (netip.AddrPort, error) { return netip.AddrPort{}, errTransparentLinux }

// ListenTransparent is only supported on Linux.
func ListenTransparent(context.Context, string) (net.Listener, error) {
	return nil, errTransparentLinux
}
