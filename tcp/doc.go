// Package tcp is a sans-I/O TCP engine (RFC 9293): the subflow layer of the
// MPTCP stack, and a complete TCP in its own right.
//
// The engine is a deterministic state machine. A Stack owns the listeners,
// connections and TIME-WAIT entries of a set of local addresses. A driver
// (the simulator, a TUN device, a test harness) hands it IP packets with
// Deliver, lets it send with Poll, and polls it again no later than the time
// Poll returned. Every entry point takes the current time; the engine reads
// no clock, starts no goroutine and draws randomness only from the source in
// its Config, so a run is reproducible from its inputs.
//
// What it implements:
//
//   - active, passive and simultaneous open, SYN and SYN/ACK retransmission
//     with exponential backoff, MSS negotiation and clamping;
//   - window scaling, timestamps with PAWS (RFC 7323), SACK (RFC 2018) and
//     D-SACK (RFC 2883);
//   - loss detection with RACK-TLP (RFC 8985) over a SACK scoreboard, with
//     proportional rate reduction (RFC 6937) during recovery, and the RFC
//     6298 retransmission timer with backoff as the last resort;
//   - congestion control through package cc (CUBIC by default), with
//     pacing;
//   - delayed ACKs, zero-window probing, keepalive, half-close, FIN
//     handling in every state, TIME-WAIT with a bounded table;
//   - RST and SYN validation against blind attacks (RFC 5961), with a rate
//     limit on challenge ACKs;
//   - TCP Fast Open (RFC 7413, fastopen.go): cookie requests and a cookie
//     cache on the client, data in the SYN and sent again when the server
//     did not take it; keyed cookies with a rotatable key, SYN data
//     readable at Accept and a bounded queue on the server;
//   - a bounded listen backlog with SYN cookies, ISNs and timestamp offsets
//     from a keyed hash (RFC 6528), ephemeral ports as RFC 6056 suggests;
//   - receive-buffer auto-tuning, a bounded send buffer, payload copied
//     once in each direction and no allocation per packet in steady state;
//   - hooks (hooks.go) through which the MPTCP layer adds and reads options,
//     learns of acknowledgments and state changes, overrides the advertised
//     window and keeps its data-sequence mappings on segment boundaries.
//
// # Driving a Stack
//
// A driver calls Deliver for each IP packet that arrives, then Poll, which
// runs due timers, lets every connection send, and returns when it next
// wants to be called (the zero Time: only a packet or an application call
// can give it work). Application calls (Write, Close, ...) made outside
// Deliver and Poll take effect at the next Poll; a driver with a separate
// application side wakes its loop after them. Hooks.Notify reports what
// changed for each connection, after the engine has finished processing
// the packet or timer that caused it, and may call back into the
// connection. Stack is not safe for concurrent use: one goroutine drives it
// (the simulator's, or a driver's loop with the application's calls
// serialised onto it).
//
// The engine checks TCP checksums on input, and computes them on output,
// unless its driver says it does that work (Stack.OffloadChecksums, called
// by a driver such as link/tun's with super-packets) or the configuration
// says the packets were verified already (Config.SkipChecksumVerify, for a
// simulator), drops packets for addresses it does not own,
// and never trusts a field before validating it: a fuzz target feeds
// arbitrary segments to connections in every state.
//
// Urgent data is not supported: the URG flag and pointer are ignored and
// the data delivered inline, as Linux does with SO_OOBINLINE.
//
// Sequence numbers are kept internally as 64-bit offsets from the initial
// sequence number (the SYN is offset 0, the first data byte offset 1), so
// that comparisons never wrap; the 32-bit wire values are derived at the
// edges.
package tcp
