// Package proxy is the hybrid-access proxy behind `mptcp proxy`: a front
// end (Front) that takes plain TCP from applications — SOCKS5 with RFC 1929
// authentication and UDP ASSOCIATE, HTTP CONNECT, or connections intercepted
// by iptables REDIRECT / TPROXY — and carries each over one MPTCP
// connection to a Transport Converter (Server), which connects onward with
// the host's TCP and relays both directions, half-closes and resets
// included.
//
// Between the two runs the 0-RTT TCP Convert protocol (RFC 8803, package
// internal/convert): the front end's Convert message (a Connect TLV with the
// destination) is its first write, which TCP Fast Open puts in the SYN, so
// the converter starts its onward connection when the SYN arrives and the
// proxy adds no round trip. The converter answers with an Extended TCP
// Header TLV or an Error TLV carrying one of RFC 8803's error codes.
//
// Three private-use TLVs (RFC 8803 reserves 192-255) extend it: 192 proves
// a pre-shared key (HMAC-SHA256 over a timestamp, a nonce and the request,
// checked against replays), 193 carries a host name for the converter to
// resolve, 194 turns the connection into a UDP relay. A standard Convert
// client that sends none of them works with a server that has no key.
//
// Instead of the key, or with it, the proxies can authenticate each other
// with mutual TLS 1.3 (tls.go: ServerTLS, ClientTLS, TLSDialer); the
// Convert message then travels inside TLS, after its handshake.
//
// The MPTCP leg is any Dialer and net.Listener: the kernel's (KernelDialer,
// ListenKernel) or this project's user-space stack, both with TCP Fast Open.
package proxy
