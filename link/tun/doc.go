// Package tun runs a sans-I/O stack (link.Stack) on Linux TUN devices with
// the real clock.
//
// A Driver owns one or more TUN devices and one stack. Each device has a
// reader goroutine that reads packets in batches; one loop goroutine owns
// the stack: it delivers every packet read, polls the stack, writes what
// the stack sends in batches, and polls again when the stack's timer is
// due or when Wake is called. A packet the stack sends leaves by the device
// whose prefixes contain its source address, so a multihomed stack picks
// its path by picking the source address, as MPTCP subflows do.
//
// The loop reads the clock once per round: the packets it takes together
// (what the readers have queued, up to a bound) are delivered with that
// time, and the stack is polled after every 64 KiB delivered and at the
// end of the round, so that it acknowledges a burst as Linux acknowledges
// a GRO super-packet.
//
// Devices come from golang.zx2c4.com/wireguard/tun (Create, or a device
// created inside a network namespace by package lab). With the virtio-net
// header that Create enables, the kernel hands over TSO super-packets,
// which the device splits into segments on read, and the device coalesces
// the stack's segments into super-packets on write (GRO towards the
// kernel), so a bulk transfer crosses the user/kernel boundary in 64 KiB
// units. With Config.SuperPackets the driver handles the virtio-net header
// itself: super-packets reach the stack whole, and the stack's segments
// are coalesced as it sends them. docs/tun.md explains how to give the
// stack its addresses on a host, and what each mode costs.
//
// The steady state allocates nothing per packet: read batches and write
// batches are preallocated and recycled.
package tun
