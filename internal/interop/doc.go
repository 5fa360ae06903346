//go:build linux

// Package interop proves the user-space MPTCP stack against the Linux
// kernel's MPTCP, the reference implementation. It holds tests only.
//
// Every case builds its own topology in network namespaces (package lab):
// our stack (the public API, mptcp.Stack) sits on a TUN device in the
// client's or the server's namespace, and the kernel's MPTCP, driven by
// Go's net package with SetMultipathTCP and by ip mptcp settings (limits,
// endpoints, sysctls of that namespace only), is the other end. Each case
// moves a few MiB each way, checked byte for byte, closes, and then asks
// three witnesses: the kernel's own counters (nstat, MPTcpExt* and Tcp*),
// our stack's MIB, named as the kernel's, and a capture of every packet
// on our side, which tshark must dissect without finding anything
// malformed and which the case reads for what went on the wire.
//
// The cases, each both ways (our client to the kernel's server, the
// kernel's client to our server):
//
//	TestHandshake    MP_CAPABLE, IPv4 and IPv6, DATA_FIN both ways, no checksum
//	TestJoin         a join opened by our path manager or a kernel `subflow` endpoint
//	TestAddAddr      ADD_ADDR and its echo, the join to the announced address
//	TestAddAddrPort  ADD_ADDR with a port, the join to that port
//	TestRemoveAddr   REMOVE_ADDR mid-transfer: Stack.RemoveAddress, ip mptcp endpoint del
//	TestBackup       MP_JOIN backup flag, kernel MP_PRIO, DialOptions.Backup: no new data on backups
//	TestChecksum     DSS checksums asked for by either side; every mapping carries one
//	TestFallback     MPTCP disabled in the kernel or in our stack, or a plain kernel socket
//	TestFastclose    Conn.Abort and SO_LINGER 0: MP_FASTCLOSE with the right key, RSTs
//	TestPlainTCP     our stack with MPTCP disabled against the kernel's plain TCP
//	TestManyPaths    four paths, five or four subflows each carrying data; the C flag
//	TestLossyPath    one of two paths loses 2% of its packets (nftables): recovered
//	TestMPFail       paths change payloads under DSS checksums: RSTs with MP_FAIL, data intact
//	TestFastOpen     TCP Fast Open with MP_CAPABLE (RFC 8684 appendix B): the request rides the SYN
//	TestBehindDNAT   two of our servers behind iptables DNAT: C flag, own address announced, joins land right
//
// The TCP engine alone (package tcp) is proven against the kernel's TCP
// by link/tun's interop tests, with more data.
//
// The tests need root, ip, tc, nstat and sysctl, and the TUN device (the
// lossy and corrupting paths nft and ethtool too); they skip, saying why,
// without them. tshark, if installed, checks the
// captures (the wire checks are skipped without it).
//
// The interoperability bugs these tests found (F1, F2, ... in commit
// messages) are all fixed; no case steps around one. Environment:
//
//	INTEROP_PCAP_DIR=dir    keep the captures of failed cases (of all cases with -v) in dir
package interop
