//go:build !linux

package main

import (
	"io"

	"github.com/mptcp-go/mptcp/internal/mptcpify"
)

func runPlatform(*runOptions, io.Writer, io.Writer) error { return mptcpify.ErrNotLinux }
