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
// # Using it
//
// A driver owns one Stack (NewStack with a Config; Config.Rand is
// required) and calls, from one goroutine or under one lock:
//
//   - Deliver(now, pkt) for every IP packet that arrives, then
//     Poll(now, send), which sends what is due and returns when to poll
//     next (zero: only a packet or an application call can give it work);
//   - AddAddress / RemoveAddress / AddEndpoint as the host's addresses
//     change, SetAddressBackup to make a path a backup.
//
// Applications use Dial (returns a connecting Conn at once) and Listen
// (Listener.Accept returns established connections or ErrWouldBlock). A
// Conn never blocks: Write takes what fits in the send buffer, Read
// returns ErrWouldBlock when nothing has arrived and io.EOF after the
// peer's DATA_FIN; CloseWrite sends a DATA_FIN, Close also stops reading,
// Abort sends MP_FASTCLOSE. Conn.SetNotify and Listener.SetNotify install
// a callback run (on the driving goroutine, after the packet or poll at
// hand) whenever the connection may have become readable, writable,
// established or closed, which is what a blocking wrapper waits on; after
// calling Write, Close or Abort from outside Deliver/Poll, the driver must
// poll (netsim: Host.Wake). Conn.Info and Stack.MIB report state and
// counters.
//
// Policies come from the registries of packages sched (scheduler), pm
// (path manager) and cc (congestion control), chosen by name in Config or
// per connection in ConnOptions; they see the connection only through
// narrow views.
//
// The files follow the kernel's net/mptcp:
//
//   - the connection: conn.go, send.go, sendbuf.go (the kernel's
//     protocol.c), closing of the connection and its subflows
//     (closing.go), errors.go, info.go;
//   - subflows and their TCP hooks: subflow.go (the kernel's subflow.c),
//     with the handshakes' completion in files of their own: capable.go
//     (MP_CAPABLE keys, the connection fully established) and join.go
//     (MP_JOIN and all of its HMACs), joincookie.go (joins answered
//     with SYN cookies, their state kept until the third ACK),
//     fastopen.go (MPTCP with TCP Fast Open, RFC 8684 appendix B: SYN
//     data outside the data sequence space);
//   - sent DSS options: dsslayout.go (which data segments carry the
//     mapping, the option space kept for it);
//   - received options: options.go (dispatch, DSS mappings), mapping.go
//     (the subflow's mapping tables), recv.go (moving mapped bytes into
//     the connection, DSS checksums, MP_FAIL), reassembly.go,
//     bytequeue.go;
//   - sequence numbers, keys and tokens: seq.go, keys.go, token.go;
//   - fallback to TCP in every form (fallback.go), blackhole detection
//     (blackhole.go);
//   - reinjection and head-of-line mitigation (reinject.go), receive
//     buffer auto-tuning (autotune.go), liveness probes (probe.go);
//   - policies: path-manager glue and address signalling (pm.go,
//     addr.go), the scheduler's view (schedview.go), the TCP engine's
//     extension points (tcpglue.go);
//   - the stack, its listeners and configuration (stack.go, listener.go,
//     config.go), the scheduling of its connections (sched.go: a run
//     queue and a deadline heap), socket options (sockopt.go), its
//     counters (mib.go) and its events (event.go: the kernel's MPTCP
//     netlink events as values, handed to Config.Events).
package core
