// Package host runs a user-space MPTCP stack (package mptcp) on a Linux
// host in one call: Start creates a TUN device per path, gives the stack
// an address per path, routes those addresses into the devices, sends
// what each path's address sends out of that path's uplink (policy
// routing, as the kernel's MPTCP documentation advises for multihomed
// hosts), and, when asked, hides the stack behind the uplinks' addresses
// with NAT, forwarding the ports it listens on. It follows the uplinks
// going down and up, so the path manager sees the addresses go and come
// back. Close removes all of it, and Start first removes what a previous
// run that crashed left behind.
//
// It needs Linux, root or CAP_NET_ADMIN, the ip tool (iproute2) and, for
// NAT, iptables and ip6tables; it works inside a network namespace or
// container with two uplinks as on a host. docs/tun.md explains what it
// sets up.
package host
