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
// driver runs it through Stack.Link, handing it packets and the time. The
// simulator (netsim.Host.SetStack) and the Linux TUN driver (package
// link/tun) are drivers; package host sets a stack up on a Linux host's
// uplinks in one call. Since the protocol core is deterministic, the same
// code runs identically in simulation and on a real link.
//
// One protocol loop runs a stack by default, behind one lock. A server with
// many connections sets Config.Loops: the stack becomes that many loops,
// each owning a share of the connections behind a lock of its own and run
// by a driver of its own (Stack.Loop; on Linux, one per queue of a
// multi-queue TUN device, which package host sets up), so that it uses as
// many CPUs. The simulator runs the loops in turn through Stack.Link, with
// the same bytes for the same seed.
//
// The API has the net package's shapes: Dialer and ListenConfig, Conn (a
// net.Conn with what *net.TCPConn has that applies) and Listener (a
// net.Listener), errors that are *net.OpError around the syscall.Errno
// values the kernel gives, so errors.Is(err, syscall.ECONNRESET) holds.
//
//	st, _ := mptcp.NewStack(mptcp.Config{})
//	st.AddAddress(netip.MustParseAddr("10.1.0.2")) // WiFi
//	st.AddAddress(netip.MustParseAddr("10.2.0.2")) // cellular
//	drv, _ := tun.New(st.Link(), tun.Config{...})   // or host.Start, or netsim
//	d := mptcp.Dialer{Stack: st}
//	c, err := d.DialContext(ctx, "tcp", "example.com:443")
//	// c is a net.Conn: crypto/tls, net/http and gRPC work on top unchanged.
//
// What still differs from the net package: a local port cannot be chosen
// when dialling; SetReadBuffer, SetWriteBuffer, File and SyscallConn do not
// exist (buffers are sized per stack, in Config); the stack has no
// loopback, so a dial to "" or to a name of the host itself fails;
// LocalAddr and RemoteAddr are those of the initial subflow.
//
// Policies are chosen by name: schedulers from package sched, congestion
// controls from package cc, path managers from package pm.
package mptcp
