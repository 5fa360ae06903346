//go:build !linux

package main

import (
	"errors"
	"time"
)

// kernelEvents is the kernel's event stream, which only Linux has.
func kernelEvents(*Invocation, bool, int, time.Duration) error {
	return errors.New("the kernel's MPTCP events need Linux; use --endpoint for our stack's")
}
