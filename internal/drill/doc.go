// Package drill runs packetdrill scripts against the stack in virtual time.
//
// A packetdrill script makes system calls on the stack under test, injects
// packets ("<") and states which packets the stack must send (">"), with
// times relative to the script's start or to the previous event. The MPTCP
// extensions of the multipath-tcp/packetdrill fork write MPTCP options
// symbolically (mpcapable, mp_join_syn, dss, add_address, mp_reset ...),
// with variables for keys and addresses that the runner binds from the
// packets it sees and computes tokens, HMACs and data sequence numbers
// from, as upstream does.
//
// The runner drives a core.Stack through its sans-I/O entry points
// (Deliver, Poll) on a virtual clock: a script of several seconds runs in
// milliseconds and gives the same result every time. The system calls map
// onto the core API (socket/bind/listen/accept/connect/read/write/close,
// fcntl O_NONBLOCK, getsockopt SO_ERROR), and the shell snippets upstream
// scripts run (ip mptcp endpoint/limits, sysctl net.mptcp.*) onto the
// stack's endpoints and configuration. Anything else is reported as
// unsupported, never passed silently.
//
// The result of a run is a pass, a failure (the first mismatch, with the
// expected and the actual packet and the script line), an unsupported
// construct, or a script error.
package drill
