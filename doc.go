// Package mptcp is Multipath TCP (RFC 8684) for Go programs: a Stack that
// speaks MPTCP on the wire, interoperates with the Linux kernel's MPTCP, and
// gives applications a plain net.Conn and net.Listener.
//
// One connection spreads its bytes over several paths (WiFi and cellular,
// DSL and 4G, the equal-cost paths of a datacenter) and survives the loss
// of a path while another remains. Peers without MPTCP are spoken to in
// plain TCP, transparently.
//
// A Stack is the user-space network stack of one host: its addresses, its
// connections and listeners, its counters. It does no I/O of its own: a
// Driver runs it, handing it packets and the time. The simulator (package
// netsim, through netsim.Realtime) and the Linux TUN driver (package
// link/tun) are drivers; since the protocol core is deterministic, the
// same code runs identically in simulation and on a real link.
//
//	st, _ := mptcp.NewStack(mptcp.Config{Scheduler: "default", CongestionControl: "cubic"})
//	st.AddAddress(netip.MustParseAddr("10.1.0.2")) // WiFi
//	st.AddAddress(netip.MustParseAddr("10.2.0.2")) // cellular
//	// ... attach a driver (see link/tun or netsim.Realtime), then:
//	c, err := st.Dial("tcp", "10.0.0.1:443")
//	// c is a net.Conn: crypto/tls, net/http and gRPC work on top unchanged.
//
// Policies are chosen by name: schedulers from package sched, congestion
// controls from package cc, path managers from package pm.
package mptcp
