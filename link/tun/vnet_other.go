//go:build !linux

package tun

import (
	"errors"
	"sync/atomic"
)

type rawIO struct{}

var errNoVnetHdr = errors.New("reading super-packets whole needs Linux")

func newRawIO(Device, rawMode, *atomic.Uint64) (*rawIO, error) { return nil, errNoVnetHdr }

func (*rawIO) read(*batch) (int, error) { return 0, errNoVnetHdr }

func (*rawIO) write(bufs [][]byte, failed []int) ([]int, error) { return failed, errNoVnetHdr }
