//go:build !linux

package main

import (
	"errors"
	"io"
)

func runProxyBench([]string, io.Writer, io.Writer) error {
	return errors.New("proxy bench needs Linux (network namespaces and the kernel's MPTCP)")
}
