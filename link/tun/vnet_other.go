//go:build !linux

package tun

import "errors"

type rawIO struct{ bad uint64 }

var errNoVnetHdr = errors.New("reading super-packets whole needs Linux")

func newRawIO(Device, rawMode) (*rawIO, error) { return nil, errNoVnetHdr }

func (*rawIO) read(*batch) (int, error) { return 0, errNoVnetHdr }

func (*rawIO) write(bufs [][]byte, failed []int) ([]int, error) { return failed, errNoVnetHdr }
