// Package core is the Multipath TCP connection layer (RFC 8684): keys and
// tokens, the MP_CAPABLE and MP_JOIN handshakes, DSS mappings and the
// 64-bit data sequence space, connection-level reassembly, DATA_ACK and
// DATA_FIN, reinjection, fallback to TCP, address signalling (ADD_ADDR,
// REMOVE_ADDR, MP_PRIO), MP_FAIL, MP_FASTCLOSE and MP_TCPRST, and the
// MPTcpExt MIB counters.
//
// The package is sans-I/O like the TCP engine beneath it: a Stack is handed
// packets and the current time, hands back packets to send, and says when
// it next wants to run. It reads no clock, starts no goroutine and draws no
// random number it was not given. The public package wraps it with
// net.Conn and net.Listener; the simulator and the TUN driver run it.
//
// The files follow the kernel's net/mptcp: options handling (options.go),
// subflow state (subflow.go), the connection (conn.go, the kernel's
// protocol.c), tokens (token.go), keys (keys.go), path-manager and
// scheduler glue (pm.go, sched.go), counters (mib.go), fallback
// (fallback.go) and reinjection (reinject.go).
package core
