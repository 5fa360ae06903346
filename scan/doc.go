// Package scan probes hosts and paths for Multipath TCP support, in the
// manner of mptcp_scanner and tracebox.
//
// A scan sends one crafted SYN carrying MP_CAPABLE from a raw socket to each
// target address and port, reads the answer, and resets the half-open
// connection. The SYN/ACK says whether the host speaks MPTCP, in which
// version, and with which MP_CAPABLE flags (checksum required, no join to
// the initial address, HMAC algorithm). A RST means the port is closed; no
// answer after the retries, or an ICMP unreachable, means filtered.
//
// A path probe sends the same SYN with TTL 1, 2, 3 ... Each router whose
// TTL expires quotes the packet, as it received it, in an ICMP
// time-exceeded message; comparing the quote with what was sent shows at
// which hop the MPTCP option, or the whole option space, or the sequence
// number was removed or rewritten.
//
// The decisions (matching an answer to a probe, classifying it, comparing a
// quote with the probe) are pure functions over packet bytes, tested
// without privileges. The driver (Scanner) owns the raw sockets, the
// clock, the retries and the rate limit; it needs root or CAP_NET_RAW.
package scan
