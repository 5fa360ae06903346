//go:build linux

// Package interop proves the user-space MPTCP stack against the Linux
// kernel's MPTCP, the reference implementation. It holds tests only.
//
// Every case builds its own topology in network namespaces (package lab):
// our stack sits on a TUN device in the client's or the server's
// namespace, and the kernel's MPTCP, driven by Go's net package with
// SetMultipathTCP and by ip mptcp settings (limits, endpoints, sysctls
// of that namespace only), is the other end. Each case moves a few MiB
// each way, checked byte for byte, and then checks three witnesses:
// the kernel's own counters (nstat MPTcpExt*), our stack's MIB, named as
// the kernel's, and a capture of our side's packets, which tshark must
// dissect without finding anything malformed.
//
// The cases: the MP_CAPABLE handshake both ways over IPv4 and IPv6;
// joins initiated by either side; ADD_ADDR and REMOVE_ADDR both ways;
// backup paths (the MP_JOIN backup bit and MP_PRIO); DSS checksums
// requested by either side; fallback to TCP (MPTCP disabled in the
// kernel, or a plain TCP socket); graceful close (DATA_FIN) and abortive
// close (MP_FASTCLOSE) both ways; and the public API's stack with MPTCP
// disabled against the kernel's TCP. The TCP engine alone (package tcp)
// is proven against the kernel's TCP by link/tun's interop tests.
//
// The tests need root, ip, tc, nstat and sysctl, and the TUN device; they
// skip, saying why, without them. tshark, if installed, checks the
// captures. Known interoperability bugs are listed, with the evidence,
// in /work/notes/interop-findings.md; a test that meets one skips with a
// message naming it.
package interop
