//go:build linux

package tun

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
	wgtun "golang.zx2c4.com/wireguard/tun"
)

// createQueues is CreateQueues for n > 1.
func createQueues(name string, mtu, n int) ([]Device, error) {
	var devs []Device
	fail := func(err error) ([]Device, error) {
		for _, d := range devs {
			d.Close()
		}
		return nil, fmt.Errorf("tun: create %q queue %d of %d: %w", name, len(devs), n, err)
	}
	for range n {
		f, err := openQueue(name)
		if err != nil {
			return fail(err)
		}
		dev, err := wgtun.CreateTUNFromFile(f, mtu)
		if err != nil {
			f.Close()
			return fail(err)
		}
		devs = append(devs, dev)
		if name, err = dev.Name(); err != nil { // the kernel's choice for %d
			return fail(err)
		}
	}
	return devs, nil
}

// openQueue opens one queue of the multi-queue device name, creating the
// device with the first.
func openQueue(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, errors.New("/dev/net/tun does not exist")
		}
		return nil, err
	}
	ifr, err := unix.NewIfreq(name)
	if err == nil {
		ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI | unix.IFF_VNET_HDR | unix.IFF_MULTI_QUEUE)
		err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
	}
	if err == nil {
		err = unix.SetNonblock(fd, true)
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("TUNSETIFF: %w", err)
	}
	return os.NewFile(uintptr(fd), "/dev/net/tun"), nil
}
