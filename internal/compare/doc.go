// Package compare runs the same scenarios with the Linux kernel's MPTCP and
// with ours on paths emulated by `mptcp emu`, and with our stack in the
// simulator, and reports the figures side by side: aggregation, handover,
// fairness and short-flow completion times. It is the engine of
// `mptcp emu compare`.
//
// The emulator runs as its own process (`mptcp emu run --hold --info`):
// it raises its threads to real-time priority, which would also promote
// the user-space stack under test if both shared a process. This process
// runs the applications, the kernel's sockets (Go's net with
// SetMultipathTCP, inside the namespaces) and our stack on TUN devices in
// the client and server namespaces.
package compare
