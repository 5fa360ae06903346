package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"

	"github.com/mptcp-go/mptcp/internal/mptcpify"
	"github.com/mptcp-go/mptcp/scan"
)

var cmdRun = &Command{
	Name:       "run",
	Usage:      "[flags] -- COMMAND [ARG...]",
	Short:      "run a program (static binaries too) with its TCP sockets on the kernel's MPTCP (Linux)",
	StopAtArgs: true,
	LinuxOnly:  true,
	Long: `Forms:
  mptcp run [--family F] [--side S] [--dst-port PORTS] [--dst PREFIXES] -- COMMAND [ARG...]
  mptcp run [--family F] [--via V] [--cgroup PATH] -- COMMAND [ARG...]
  mptcp run [--family F] --cgroup PATH | --pid PID      (attach and pin; no command)
  mptcp run --detach --cgroup PATH | --pid PID
  mptcp run --list | --check

Runs COMMAND (and its children) with the TCP sockets it creates made as
Multipath TCP sockets by the kernel, whatever the program is written in:
static binaries and Go programs too. Two ways to do it (--via):

  bpf      a BPF program on the kernel's update_socket_protocol hook
           (Linux 6.6+, BTF, CAP_BPF+CAP_PERFMON or CAP_SYS_ADMIN) converts
           the sockets of the processes in a cgroup made for COMMAND, or of
           an existing cgroup (--cgroup) or a process's cgroup (--pid)
  seccomp  a seccomp filter on COMMAND hands its socket calls to mptcp run,
           which creates them as MPTCP (Linux 5.14+, no privilege needed);
           only for a COMMAND mptcp run starts
  auto     bpf where the kernel takes the program, else seccomp (default)

Without a COMMAND, --cgroup or --pid attaches for good: the link is pinned
in the BPF file system until "mptcp run --detach".

Filters: --family applies when a socket is created (either backend).
--side, --dst-port and --dst need to know where a socket connects or that
it listens, which socket() does not tell: with them the seccomp backend
converts a TCP socket when it calls connect() (client side; the address it
connects to must match) or listen() (server side; the address it is bound
to must match), replacing it in place by an MPTCP socket with the same
options. The BPF backend cannot do that and refuses them.

Connections get more subflows only if the kernel's path manager has
endpoints and limits for them ("mptcp pm", "--check" shows them).`,
	Run: runFlagSet,
}

func init() { root.Add(cmdRun) }

// runOptions are the parsed flags of "mptcp run".
type runOptions struct {
	filter  mptcpify.Filter
	via     string
	cgroup  string
	pid     int
	detach  bool
	list    bool
	check   bool
	pinDir  string
	verbose bool
	argv    []string
}

// exitStatus is an error that makes mptcp exit with the status of the
// command it ran.
type exitStatus int

func (e exitStatus) Error() string { return "command exited with status " + strconv.Itoa(int(e)) }

func runFlagSet(fs *flag.FlagSet) Action {
	var o runOptions
	family := fs.String("family", "all", "address families to convert: inet, inet6 or all")
	side := fs.String("side", "both", "convert sockets that connect (client), listen (server) or `both`")
	ports := fs.String("dst-port", "", "convert only connections to these `PORTS` (443,8000-9000); a listener's own port")
	prefixes := fs.String("dst", "", "convert only connections to these `PREFIXES` (10.0.0.0/8,2001:db8::/32); a listener's own address")
	fs.StringVar(&o.via, "via", "auto", "how: bpf, seccomp or auto")
	fs.StringVar(&o.cgroup, "cgroup", "", "cgroup v2 `PATH` (absolute, or relative to the hierarchy's root) to convert")
	fs.IntVar(&o.pid, "pid", 0, "convert the cgroup of process `PID`")
	fs.BoolVar(&o.detach, "detach", false, "remove the pinned attachment of --cgroup or --pid")
	fs.BoolVar(&o.list, "list", false, "list the pinned attachments")
	fs.BoolVar(&o.check, "check", false, "say which of the conditions mptcp run needs hold here")
	fs.StringVar(&o.pinDir, "pin-dir", mptcpify.DefaultPinDir, "`DIR` on a BPF file system for pinned attachments")
	fs.BoolVar(&o.verbose, "v", false, "say what is attached and how, on stderr")
	return func(inv *Invocation) error {
		stdout, stderr := inv.Stdout, inv.Stderr
		o.argv = inv.Args
		f, err := parseRunFilter(*family, *side, *ports, *prefixes)
		if err != nil {
			return usagef("%v", err)
		}
		o.filter = f
		if err := o.validate(); err != nil {
			return usagef("%v", err)
		}
		return runPlatform(&o, stdout, stderr)
	}
}

// parseRunFilter reads the filter flags.
func parseRunFilter(family, side, ports, prefixes string) (f mptcpify.Filter, err error) {
	if f.Families, err = mptcpify.ParseFamilies(family); err != nil {
		return f, err
	}
	if f.Side, err = mptcpify.ParseSide(side); err != nil {
		return f, fmt.Errorf("--side: %w", err)
	}
	if ports != "" {
		if f.Ports, err = scan.ParsePorts(ports); err != nil {
			return f, fmt.Errorf("--dst-port: %w", err)
		}
	}
	if prefixes != "" {
		if f.Prefixes, err = mptcpify.ParsePrefixes(prefixes); err != nil {
			return f, fmt.Errorf("--dst: %w", err)
		}
	}
	return f, nil
}

// errFiltersNeedSeccomp is the answer to filters the BPF hook cannot apply.
var errFiltersNeedSeccomp = errors.New("--side, --dst-port and --dst need the seccomp backend (the BPF hook sees only socket(), before the destination and the side are known): drop --via bpf, --cgroup and --pid")

// validate rejects combinations of flags that mean nothing.
func (o *runOptions) validate() error {
	modes := 0
	for _, b := range []bool{o.detach, o.list, o.check} {
		if b {
			modes++
		}
	}
	target := o.cgroup != "" || o.pid != 0
	switch {
	case modes > 1:
		return errors.New("give one of --detach, --list and --check")
	case o.cgroup != "" && o.pid != 0:
		return errors.New("give --cgroup or --pid, not both")
	case o.pid < 0:
		return errors.New("--pid must be a process id")
	case o.via != "auto" && o.via != "bpf" && o.via != "seccomp":
		return fmt.Errorf("unknown --via %q (want bpf, seccomp or auto)", o.via)
	case modes == 1 && len(o.argv) > 0:
		return errors.New("--detach, --list and --check take no command")
	case o.detach && !target:
		return errors.New("--detach needs --cgroup or --pid")
	case modes == 0 && !target && len(o.argv) == 0:
		return errors.New("give a command to run (mptcp run -- COMMAND), or --cgroup/--pid")
	case o.via == "seccomp" && target:
		return errors.New("--via seccomp serves only a command mptcp run starts, not --cgroup or --pid")
	case o.filter.Deferred() && (o.via == "bpf" || target):
		return errFiltersNeedSeccomp
	case o.filter.Deferred() && modes == 1:
		return errors.New("--detach, --list and --check take no --side, --dst-port or --dst")
	}
	return nil
}
