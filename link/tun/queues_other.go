//go:build !linux

package tun

import "errors"

// createQueues is CreateQueues for n > 1: multi-queue devices need Linux.
func createQueues(name string, mtu, n int) ([]Device, error) {
	return nil, errors.New("tun: multi-queue devices need Linux")
}
