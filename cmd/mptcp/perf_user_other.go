//go:build !linux

package main

import (
	"errors"
	"io"
	"net/netip"
)

func openUserStack(*perfFlags, netip.Addr, io.Writer) (perfStack, error) {
	return nil, errors.New("--stack user needs Linux TUN devices; use --stack kernel")
}
