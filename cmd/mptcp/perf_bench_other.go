//go:build !linux

package main

import (
	"errors"
	"io"
)

func runPerfBench([]string, io.Writer, io.Writer) error {
	return errors.New("the benchmark needs Linux (network namespaces, veth, TUN)")
}
