//go:build !linux

package tun

import "errors"

// CreateQueues creates a multi-queue TUN device; it needs Linux.
func CreateQueues(name string, mtu, n int) ([]Device, error) {
	return nil, errors.New("tun: multi-queue devices need Linux")
}
