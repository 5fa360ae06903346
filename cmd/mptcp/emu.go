package main

import "fmt"

// The emulator's commands; their Run functions are in emu_linux.go and
// emu_compare_linux.go.

var cmdEmu = &Command{
	Name:      "emu",
	Short:     "emulate a scenario's paths between network namespaces (rate, delay, loss, outages; root)",
	LinuxOnly: true,
	Long: `The emulator is a user-space link emulator (the kernel here has no netem):
it forwards frames between a client and a server namespace through a third
namespace, shaping each path's directions with the scenario's rate, delay,
jitter, loss, queue and schedule, as "mptcp sim" does in virtual time.
SCENARIO is a built-in name (see "mptcp sim --list") or a scenario file.
Every subcommand needs root. See docs/emu.md.`,
}

var cmdEmuRun = &Command{
	Name:      "run",
	Usage:     "[flags] SCENARIO",
	Short:     "emulate the scenario's paths until Ctrl-C or its duration",
	LinuxOnly: true,
	Long: `Builds a client, an emulator and a server network namespace for the
scenario, one veth path per scenario path (and per competitor) through the
emulator, turns offloads off, configures the client's kernel MPTCP
endpoints, and emulates the paths, printing per-path counters every
interval, until Ctrl-C or the scenario's duration. Everything is removed on
exit. Run programs on it with "ip netns exec NAMESPACE ...", as printed.`,
}

var cmdEmuAccuracy = &Command{
	Name:      "accuracy",
	Usage:     "[flags]",
	Short:     "measure the emulator's delay and rate error",
	LinuxOnly: true,
	Long: `Measures the emulator on a one-path topology it builds: timestamped UDP
probes give the one-way delay error (measured minus configured delay and
serialisation), a saturating UDP flow the rate error, at each rate. The
"direct" row (a veth pair, no emulator) is the measurement's own floor,
"ideal" the emulator with an ideal link. Prints a table, or JSON.`,
}

var cmdEmuCompare = &Command{
	Name:      "compare",
	Usage:     "[flags]",
	Short:     "the kernel's MPTCP, ours and the simulator on the same paths",
	LinuxOnly: true,
	Long: `Runs the aggregate, handover and fairness scenarios on emulated paths
("mptcp emu run", as its own process) with the kernel's MPTCP on both ends
(Go's net with SetMultipathTCP) and with our stack on both ends (on TUN
devices in the client and server namespaces), and in the simulator; prints
one table: goodput over capacity, the longest stall of a handover, the
MPTCP/TCP goodput ratio at a shared bottleneck and the completion time of
short requests, each measured three ways. Every transfer's bytes are
checked. Needs root. See docs/emu.md.`,
}

func init() {
	root.Add(cmdEmu)
	cmdEmu.Add(cmdEmuRun, cmdEmuAccuracy, cmdEmuCompare)
}

// iperfHint is the line emu run prints to show how to use its network.
// The server is one-off (-1), never a daemon: a process left in a
// namespace keeps it alive after emu has removed its name, and nothing
// would stop it.
func iperfHint(server, client, addr string) string {
	return fmt.Sprintf("try: ip netns exec %s mptcpize run iperf3 -s -1 & sleep 1; ip netns exec %s mptcpize run iperf3 -c %s -R (the server exits after one test)", server, client, addr)
}
