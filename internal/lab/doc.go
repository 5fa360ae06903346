//go:build linux

// Package lab builds test networks in Linux network namespaces: a client
// with several paths to a server, each path its own subnet, joined
// directly, through a router, or through a middle namespace where a link
// emulator moves the frames; optional tbf rate limits; IPv4 and IPv6 on
// every path; TUN devices on which a user-space stack of this process
// sits in the client's or the server's namespace.
//
// Everything it creates lives in namespaces named Prefix + process id +
// sequence + role, so nothing touches the host's network, and nothing
// outlives its owner: New and TempNetns remove their namespaces when the
// test ends, even after a failure or a panic; Build's caller calls Close;
// and Sweep, run before a process creates its first namespace, removes
// what a killed process left behind.
//
// Helpers run code and commands inside a namespace: Do runs a function on
// a thread that entered it (the sockets it opens, Go's net package with
// SetMultipathTCP for the kernel's MPTCP included, stay there), Exec and
// Command run programs through ip netns exec, Sysctl sets per-namespace
// sysctls (net.mptcp.*), MPTCPLimits and AddMPTCPEndpoint configure the
// kernel's path manager, and Nstat reads the kernel's counters (MPTcpExt*).
//
// The address plan is documented on Path; docs/tun.md explains why a
// user-space stack's addresses are never the kernel's.
//
// Everything needs root; Require skips a test, saying why, when the lab
// cannot run.
package lab
