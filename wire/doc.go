// Package wire holds views and builders for the packets Multipath TCP
// speaks: IPv4 and IPv6 headers, the TCP header and its options, every MPTCP
// option subtype of RFC 8684, the Internet checksum and the MPTCP crypto.
//
// Views are byte slices with big-endian accessors (type TCP []byte, as in
// gVisor's header package). Each view has one checked constructor (ParseTCP,
// ParseIPv4, ParseIPv6) that validates lengths once; after it succeeds no
// accessor can panic. Options are decoded into value structs (TCPOptions,
// MPTCPOptions) by one pass with no allocation, so the per-packet receive
// path allocates nothing. Decoders never panic on malformed input: they
// return an error wrapping one of the sentinels in errors.go.
//
// Fuzz targets cover every decoder and the encode-then-decode round trips:
//
//	go test ./wire -run='^$' -fuzz='^FuzzParseTCP$' -fuzztime=60s
//
// (and likewise for each Fuzz* function in the package).
package wire
