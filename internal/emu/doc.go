// Package emu is a user-space link emulator: it forwards Ethernet frames
// between pairs of interfaces of a network namespace (a client's side and a
// server's side of each path) and shapes each direction as netsim shapes a
// simulated link (see netsim.PipeConfig): a drop-tail queue, a transmitter
// of finite rate, propagation delay, jitter that never reorders, random and
// burst loss, reordering, duplication, corruption, and a schedule of
// outages and rate, delay and loss changes. The kernel here has no netem;
// this stands in for it, so that one scenario file (package scenario) runs
// in the simulator and on an emulated real network.
//
// The link model is sans-I/O (pipe, core) and matches netsim's deliveries
// to the nanosecond. Around it, each direction of each path is a loop on a
// locked real-time OS thread reading a TPACKET_V2 receive ring (with the
// kernel's receive timestamps), writing with sendmmsg, and waiting on a
// timerfd and a short spin; see docs/emu.md for the design, the measured
// accuracy and the limits.
//
// Start runs an emulator on existing interfaces; Build makes the whole
// network for a scenario (lab's Wire topology: client, emulator and
// server namespaces) and Close removes it; MeasureAccuracy measures the
// delay and rate errors. Everything but the model needs Linux and root.
package emu
