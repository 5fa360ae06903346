//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"text/tabwriter"

	"github.com/mptcp-go/mptcp/internal/mptcpify"
	"github.com/mptcp-go/mptcp/kpm"
	"golang.org/x/sys/unix"
)

func runPlatform(o *runOptions, stdout, stderr io.Writer) error {
	if v, ok := os.LookupEnv(mptcpify.ChildEnv); ok {
		// We are the re-executed child of the seccomp backend.
		err := mptcpify.ExecChild(v, o.argv)
		fmt.Fprintf(stderr, "mptcp run: %s: %v\n", o.argv[0], err)
		return exitStatus(127)
	}
	switch {
	case o.check:
		return runRunCheck(o, stdout)
	case o.list:
		return runList(o, stdout)
	case o.detach:
		return runDetach(o, stdout)
	case len(o.argv) == 0:
		return runAttachPinned(o, stdout)
	}
	return runCommand(o, stderr)
}

// targetCgroup is the existing cgroup --cgroup or --pid names.
func targetCgroup(o *runOptions) (mptcpify.Cgroup, error) {
	if o.pid != 0 {
		return mptcpify.CgroupOfPID(o.pid)
	}
	return mptcpify.OpenCgroup(o.cgroup)
}

// runAttachPinned attaches for an existing cgroup and pins the link.
func runAttachPinned(o *runOptions, stdout io.Writer) error {
	if err := mptcpify.Preflight(); err != nil {
		return err
	}
	cg, err := targetCgroup(o)
	if err != nil {
		return err
	}
	att, err := mptcpify.Attach(cg.Target(o.filter.Families))
	if err != nil {
		return err
	}
	defer att.Close() // the pin keeps the link
	pin, err := att.Pin(o.pinDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cgroup %s (id %d): new %s TCP sockets are MPTCP; pinned at %s\n", cg.Path, cg.ID, o.filter.Families, pin)
	fmt.Fprintf(stdout, "undo with: mptcp run --detach --cgroup %s\n", cg.Path)
	return nil
}

func runDetach(o *runOptions, stdout io.Writer) error {
	cg, err := targetCgroup(o)
	if err != nil {
		return err
	}
	if err := mptcpify.Detach(o.pinDir, cg.ID); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cgroup %s (id %d): detached; new sockets are TCP again\n", cg.Path, cg.ID)
	return nil
}

func runList(o *runOptions, stdout io.Writer) error {
	pins, err := mptcpify.List(o.pinDir)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "CGROUP ID\tPATH\tPIN")
	for _, p := range pins {
		path := p.Path
		if path == "" {
			path = "(removed; rm the pin to detach)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", p.CgroupID, path, p.Pin)
	}
	return tw.Flush()
}

// runCommand runs the command under the chosen backend and returns its
// exit status.
func runCommand(o *runOptions, stderr io.Writer) error {
	path, err := exec.LookPath(o.argv[0])
	if err != nil {
		return err
	}
	cmd := exec.Command(path, o.argv[1:]...)
	cmd.Args[0] = o.argv[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr

	var finish func() error
	switch {
	case o.filter.Deferred():
		// validate refused --via bpf: auto means seccomp here.
		finish, err = startSeccomp(o, cmd, stderr)
	case o.via != "seccomp":
		finish, err = startBPF(o, cmd, stderr)
		if err != nil && o.via == "auto" && o.cgroup == "" && o.pid == 0 {
			if o.verbose {
				fmt.Fprintf(stderr, "mptcp run: BPF hook unavailable (%v); using seccomp\n", err)
			}
			finish, err = startSeccomp(o, cmd, stderr)
		}
	default:
		finish, err = startSeccomp(o, cmd, stderr)
	}
	if err != nil {
		return err
	}
	stop := forwardSignals(cmd.Process)
	werr := cmd.Wait()
	stop()
	if err := finish(); err != nil {
		fmt.Fprintf(stderr, "mptcp run: %v\n", err)
	}
	return statusOf(werr)
}

// startBPF starts cmd in a cgroup the program converts: a new one, or the
// one --cgroup or --pid names. finish detaches and removes what it made.
func startBPF(o *runOptions, cmd *exec.Cmd, stderr io.Writer) (finish func() error, err error) {
	if err := mptcpify.Preflight(); err != nil {
		return nil, err
	}
	var cg mptcpify.Cgroup
	created := o.cgroup == "" && o.pid == 0
	if created {
		cg, err = mptcpify.NewCgroup(fmt.Sprintf("mptcp-run-%d", os.Getpid()))
	} else {
		cg, err = targetCgroup(o)
	}
	if err != nil {
		return nil, err
	}
	cleanup := func() {
		if created {
			cg.Remove()
		}
	}
	att, err := mptcpify.Attach(cg.Target(o.filter.Families))
	if err != nil {
		cleanup()
		return nil, err
	}
	dir, err := os.Open(cg.Path)
	if err != nil {
		att.Close()
		cleanup()
		return nil, err
	}
	defer dir.Close()
	// clone3(CLONE_INTO_CGROUP): the command starts inside the cgroup.
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(dir.Fd())}
	if err := cmd.Start(); err != nil {
		att.Close()
		cleanup()
		return nil, err
	}
	if o.verbose {
		fmt.Fprintf(stderr, "mptcp run: bpf: cgroup %s (id %d), %s\n", cg.Path, cg.ID, o.filter.Families)
	}
	return func() error {
		att.Close()
		if !created {
			return nil
		}
		if err := cg.Remove(); err != nil {
			if errors.Is(err, unix.EBUSY) {
				return fmt.Errorf("processes the command started still run in %s; their new sockets are TCP again", cg.Path)
			}
			return err
		}
		return nil
	}, nil
}

// startSeccomp starts cmd under the seccomp filter; finish waits until the
// last process under the filter is gone.
func startSeccomp(o *runOptions, cmd *exec.Cmd, stderr io.Writer) (finish func() error, err error) {
	if err := mptcpify.CheckSeccomp(); err != nil {
		return nil, err
	}
	sup, err := mptcpify.StartCommand(cmd, o.filter)
	if err != nil {
		return nil, err
	}
	if o.verbose {
		sup.Log = func(s string) { fmt.Fprintf(stderr, "mptcp run: %s\n", s) }
	}
	done := make(chan error, 1)
	go func() { done <- sup.Serve() }()
	if o.verbose {
		at := ""
		if o.filter.Deferred() {
			at = " (at " + o.filter.Hooks().String() + ")"
		}
		fmt.Fprintf(stderr, "mptcp run: seccomp: supervising %s, %s%s\n", o.argv[0], o.filter, at)
	}
	return func() error {
		err := <-done
		switch {
		case o.verbose && o.filter.Deferred():
			fmt.Fprintf(stderr, "mptcp run: %d sockets made MPTCP, %d left TCP by the filter, %d left TCP because they could not be replaced\n",
				sup.Converted, sup.Kept, sup.Fallbacks)
		case o.verbose:
			fmt.Fprintf(stderr, "mptcp run: %d sockets made MPTCP, %d left TCP (MPTCP refused)\n", sup.Converted, sup.Fallbacks)
		}
		return err
	}, nil
}

// forwardSignals passes SIGTERM and SIGHUP on to the command. SIGINT and
// SIGQUIT from a terminal reach the command directly (it is in the same
// process group), so mptcp run only survives them.
func forwardSignals(p *os.Process) (stop func()) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		for s := range ch {
			if s == syscall.SIGTERM || s == syscall.SIGHUP {
				p.Signal(s)
			}
		}
	}()
	return func() { signal.Stop(ch); close(ch) }
}

// statusOf turns the command's end into mptcp's: its exit status, or 128
// plus the signal that killed it, as shells report.
func statusOf(err error) error {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return exitStatus(128 + int(ws.Signal()))
	}
	return exitStatus(ee.ExitCode())
}

// runRunCheck prints which conditions hold, and what works as a result.
func runRunCheck(o *runOptions, stdout io.Writer) error {
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	bpfOK := true
	for _, c := range mptcpify.Checks() {
		bpfOK = bpfOK && (c.Err == nil || c.Advisory)
		fmt.Fprintf(tw, "%s\t%s\n", c.Name, verdict(c.Detail, c.Err))
	}
	secErr := mptcpify.CheckSeccomp()
	fmt.Fprintf(tw, "seccomp\t%s\n", verdict("user notification, for a command mptcp run starts", secErr))
	pm, pmErr := pathManagerSummary()
	fmt.Fprintf(tw, "path manager\t%s\n", verdict(pm, pmErr))
	tw.Flush()
	switch {
	case bpfOK:
		fmt.Fprintln(stdout, "=> mptcp run works here with the BPF hook: commands, --cgroup and --pid")
	case secErr == nil:
		fmt.Fprintln(stdout, "=> mptcp run -- COMMAND works here through seccomp; --cgroup and --pid need the BPF hook")
	default:
		fmt.Fprintln(stdout, "=> mptcp run cannot work here")
		return errors.New("neither the BPF hook nor seccomp is usable")
	}
	return nil
}

func verdict(detail string, err error) string {
	switch {
	case err == nil:
		return "ok    " + detail
	case errors.Is(err, mptcpify.ErrSkipped):
		return "-     not checked (an earlier check failed)"
	}
	return "FAIL  " + err.Error()
}

// pathManagerSummary describes the in-kernel path manager's endpoints and
// limits in this network namespace, failing when they allow a single
// subflow per connection.
func pathManagerSummary() (string, error) {
	c, err := kpm.Dial(nil)
	if err != nil {
		return "", fmt.Errorf("read the path manager: %w", err)
	}
	defer c.Close()
	eps, err := c.Endpoints()
	if err != nil {
		return "", err
	}
	lim, err := c.Limits()
	if err != nil {
		return "", err
	}
	var subflow, signal int
	for _, e := range eps {
		if e.Flags&kpm.FlagSubflow != 0 {
			subflow++
		}
		if e.Flags&kpm.FlagSignal != 0 {
			signal++
		}
	}
	s := fmt.Sprintf("%d subflow and %d signal endpoints; limits: subflows %d, add_addr_accepted %d",
		subflow, signal, lim.Subflows, lim.AddAddrAccepted)
	if lim.Subflows == 0 || (subflow == 0 && lim.AddAddrAccepted == 0) {
		return "", fmt.Errorf("%s: connections keep one subflow (mptcp pm endpoint add ADDR dev IF subflow; mptcp pm limits set subflows 2 add_addr_accepted 2)", s)
	}
	return s, nil
}
