package main

// The kernel path manager's commands; their Run functions are in the
// pm_*_linux.go files.

var cmdPM = &Command{
	Name:      "pm",
	Short:     "manage the Linux kernel's MPTCP path manager (endpoints, limits, events, daemon)",
	LinuxOnly: true,
	Long: `Manage the Linux kernel's Multipath TCP path manager through its generic
netlink family (mptcp_pm), in the current network namespace.`,
}

var cmdPMEndpoint = &Command{
	Name:      "endpoint",
	Aliases:   []string{"endpoints", "ep"},
	Short:     `in-kernel path manager endpoints ("ip mptcp endpoint")`,
	Default:   "list",
	LinuxOnly: true,
	Long: `The in-kernel path manager's endpoints, as "ip mptcp endpoint" shows them.
"set" changes only the flags named, keeping the others ("ip mptcp endpoint
change" resets every flag not named). "del ADDRESS" finds the id itself.

FLAG   := signal | subflow | backup | fullmesh | laminar
CHANGE := backup | nobackup | fullmesh | nofullmesh | laminar | nolaminar`,
}

var (
	cmdPMEndpointAdd = &Command{
		Name: "add", Usage: "ADDRESS [dev NAME] [id ID] [port NR] [FLAG...]", LinuxOnly: true,
		Short: "add an endpoint (FLAG: signal, subflow, backup, fullmesh, laminar)",
	}
	cmdPMEndpointDel = &Command{
		Name: "del", Aliases: []string{"delete", "remove"}, Usage: "id ID [ADDRESS] | ADDRESS", LinuxOnly: true,
		Short: "remove an endpoint, by id or by address",
	}
	cmdPMEndpointSet = &Command{
		Name: "set", Aliases: []string{"change"}, Usage: "[id ID] [ADDRESS] [port NR] CHANGE...", LinuxOnly: true,
		Short: "change the flags named (CHANGE: backup, nobackup, fullmesh, nofullmesh, laminar, nolaminar), keeping the others",
	}
	cmdPMEndpointList = &Command{
		Name: "list", Aliases: []string{"show", "ls"}, Usage: "[--json] [id ID]", LinuxOnly: true,
		Short: "list the endpoints (or one)",
	}
	cmdPMEndpointFlush = &Command{
		Name: "flush", LinuxOnly: true,
		Short: "remove every endpoint",
	}
)

var cmdPMLimits = &Command{
	Name:      "limits",
	Aliases:   []string{"limit"},
	Short:     `in-kernel path manager limits ("ip mptcp limits")`,
	Default:   "show",
	LinuxOnly: true,
	Long: `The in-kernel path manager's per-connection limits, as "ip mptcp limits"
shows them: how many subflows each connection may add, and how many
addresses announced by the peer it accepts. Subflows the limits forbid are
silently not created by the kernel; "mptcp pm daemon" is not bound by them.`,
}

var (
	cmdPMLimitsShow = &Command{
		Name: "show", Aliases: []string{"list", "get"}, Usage: "[--json]", LinuxOnly: true,
		Short: "print the limits",
	}
	cmdPMLimitsSet = &Command{
		Name: "set", Usage: "[subflows NR] [add_addr_accepted NR]", LinuxOnly: true,
		Short: "change one limit or both",
	}
)

var cmdPMMonitor = &Command{
	Name:      "monitor",
	Usage:     "[--json] [--count N] [--timeout D]",
	Short:     `print the kernel's MPTCP events ("ip mptcp monitor")`,
	LinuxOnly: true,
	Long: `Print the kernel's MPTCP events in the current network namespace, one line
per event as "ip mptcp monitor" prints them, or one JSON object per line:
connection created / established / closed, address announced / removed by
the peer, subflow established / closed / priority changed, listener created /
closed, with every attribute the kernel sends. Needs CAP_NET_ADMIN.`,
}

var cmdPMDaemon = &Command{
	Name:      "daemon",
	Usage:     "[--config FILE] [flags]",
	Short:     "run a userspace path manager for the kernel",
	LinuxOnly: true,
	Long: `Run a userspace path manager for the kernel's MPTCP in the current network
namespace. It switches net.mptcp.path_manager to "userspace" (restored on
exit), follows every MPTCP connection through the kernel's events and
drives it with the policy:

  fullmesh     a subflow from every usable local address to every peer address
  ndiffports   N subflows over the initial pair of addresses (different ports)
  none         no subflows; only announcements and backup rules

A subflow whose interface goes down or whose address goes away is removed;
a new one is created when it comes back. Every address not used and every
subflow not created is logged with the reason. Flags override the file.

Example config (YAML):
  policy: fullmesh
  max_subflows: 8
  interfaces: {allow: ["eth*", "wlan*"], deny: ["docker*"]}
  backup: ["wwan*"]
  announce:
    - address: 192.0.2.10
    - port: 8443`,
}

func init() {
	root.Add(cmdPM)
	cmdPM.Add(cmdPMEndpoint, cmdPMLimits, cmdPMMonitor, cmdPMDaemon)
	cmdPMEndpoint.Add(cmdPMEndpointAdd, cmdPMEndpointDel, cmdPMEndpointSet, cmdPMEndpointList, cmdPMEndpointFlush)
	cmdPMLimits.Add(cmdPMLimitsShow, cmdPMLimitsSet)
}
