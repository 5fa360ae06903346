package tun

import (
	"fmt"
	"net/netip"

	wgtun "golang.zx2c4.com/wireguard/tun"
)

// Device is a TUN device: wireguard-go's batched interface.
type Device = wgtun.Device

// Headroom is the space the driver keeps in front of every packet it reads
// or writes: room for the virtio-net header (10 bytes) the device puts
// there, rounded up so that packets start 16-byte aligned.
const Headroom = 16

// MaxPacket is the largest packet the driver writes: an IPv4 or IPv6
// packet with a 16-bit length, the bound of a coalesced super-packet too.
const MaxPacket = 65535

// Create creates a TUN device called name (a kernel-chosen name when name
// holds %d, as "tun%d") with the virtio-net header and TCP segmentation
// offloads on, in the network namespace of the calling thread. The device
// is down and has no addresses: see docs/tun.md.
func Create(name string, mtu int) (Device, error) {
	dev, err := wgtun.CreateTUN(name, mtu)
	if err != nil {
		return nil, fmt.Errorf("tun: create %q: %w", name, err)
	}
	return dev, nil
}

// CreateQueues creates a multi-queue TUN device called name (a
// kernel-chosen name when name holds %d) with n queues, each a Device of
// its own with the virtio-net header and TCP offloads, as Create makes
// one, in the network namespace of the calling thread. A stack with
// several protocol loops (mptcp.Config.Loops) runs one Driver per loop,
// loop i on queue i of every device: the kernel hands each queue the
// flows it last saw written on that queue (the tun driver's flow
// steering) and new flows by a hash, so most packets reach the loop that
// owns them and the stack hands the others over. The device lives until
// every queue is closed. One queue makes the single-queue device of
// Create, so that a caller sizes the device by its loops alone.
func CreateQueues(name string, mtu, n int) ([]Device, error) {
	if n < 1 {
		return nil, fmt.Errorf("tun: create %q: %d queues", name, n)
	}
	if n > 1 {
		return createQueues(name, mtu, n)
	}
	dev, err := Create(name, mtu)
	if err != nil {
		return nil, err
	}
	return []Device{dev}, nil
}

// Interface is one device the driver runs, with the local prefixes whose
// packets leave by it.
type Interface struct {
	// Device is the open TUN device. The driver owns it from New on and
	// closes it in Close.
	Device Device

	// MTU is the largest packet the device delivers. Zero asks the
	// device, which works only when the calling thread is in the device's
	// network namespace; a device made elsewhere must be given its MTU.
	MTU int

	// Prefixes hold the source addresses whose packets leave by this
	// device. An interface without prefixes takes the packets no other
	// interface claims (a default route). When several match, the longest
	// prefix wins, then the first interface.
	Prefixes []netip.Prefix
}
