//go:build linux

package emu

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/mptcp-go/mptcp/internal/lab"
	"golang.org/x/sys/unix"
)

// A Process is one that still ran in a namespace of a Network when the
// network was closed, and was ended (a server a user started in it, such
// as a daemonized iperf3). Left running, it would keep the namespace, its
// interfaces and its addresses alive after the name is removed.
type Process struct {
	PID     int    `json:"pid"`
	Command string `json:"command"` // its name, as ps shows it
	Netns   string `json:"netns"`
	// Killed reports that it outlived SIGTERM by the grace time and was
	// sent SIGKILL.
	Killed bool `json:"killed,omitempty"`
}

// String describes the process: its command, pid and namespace, and
// whether it had to be killed.
func (p Process) String() string {
	if p.Killed {
		return fmt.Sprintf("%s (pid %d, in %s; it outlived SIGTERM: killed)", p.Command, p.PID, p.Netns)
	}
	return fmt.Sprintf("%s (pid %d, in %s)", p.Command, p.PID, p.Netns)
}

// EndGrace is how long Close lets a process of the network's namespaces
// exit after SIGTERM before it sends SIGKILL.
const EndGrace = 2 * time.Second

// EndProcesses ends the processes still running in the network's
// namespaces, and only those: SIGTERM to each, then SIGKILL to those still
// running after grace, and a bounded wait for them to go. It returns the
// processes it ended. Close calls it before removing the namespaces;
// call it first to learn what was ended.
func (n *Network) EndProcesses(grace time.Duration) ([]Process, error) {
	if n.Topology == nil {
		return nil, nil
	}
	self := os.Getpid()
	var ended []Process
	var fds []int
	var errs error
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for _, ns := range n.Topology.Namespaces() {
		id, err := netnsID(ns)
		if errors.Is(err, unix.ENOENT) {
			continue // removed already
		}
		if err != nil {
			errs = errors.Join(errs, err)
			continue
		}
		pids, err := processesIn(id)
		if err != nil {
			errs = errors.Join(errs, err)
			continue
		}
		for _, pid := range pids {
			if pid == self {
				continue
			}
			// A pidfd pins the process: the signals cannot reach another
			// that reused its id. It is checked to be in the namespace
			// once opened.
			fd, err := unix.PidfdOpen(pid, 0)
			if err != nil {
				continue // gone already
			}
			if !inNetns(strconv.Itoa(pid), id) {
				unix.Close(fd)
				continue
			}
			if err := unix.PidfdSendSignal(fd, unix.SIGTERM, nil, 0); err != nil {
				unix.Close(fd)
				continue
			}
			fds = append(fds, fd)
			ended = append(ended, Process{PID: pid, Command: lab.ProcessName(pid), Netns: ns.Name()})
		}
	}
	left := waitExit(fds, grace)
	for i, fd := range fds {
		if left[i] && unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0) == nil {
			ended[i].Killed = true
		}
	}
	for i, still := range waitExit(fds, grace) {
		if still {
			errs = errors.Join(errs, fmt.Errorf("emu: process %d in %s did not exit after SIGKILL", ended[i].PID, ended[i].Netns))
		}
	}
	return ended, errs
}

// waitExit waits up to d in all for the processes of the pidfds to exit,
// and reports which are still running.
func waitExit(fds []int, d time.Duration) []bool {
	left := make([]bool, len(fds))
	end := time.Now().Add(d)
	for i, fd := range fds {
		// A pidfd is readable once its process has exited.
		p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			n, err := unix.Poll(p, int(max(time.Until(end), 0)/time.Millisecond))
			if errors.Is(err, unix.EINTR) {
				continue
			}
			left[i] = n <= 0
			break
		}
	}
	return left
}

// netnsID returns the device and inode that identify namespace ns.
func netnsID(ns lab.Netns) (unix.Stat_t, error) {
	var id unix.Stat_t
	if err := unix.Stat("/run/netns/"+ns.Name(), &id); err != nil {
		return id, fmt.Errorf("emu: namespace %s: %w", ns, err)
	}
	return id, nil
}

// processesIn lists the processes in the network namespace id, as "ip
// netns pids" does: by the namespace file's device and inode.
func processesIn(id unix.Stat_t) ([]int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("emu: list processes: %w", err)
	}
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && inNetns(e.Name(), id) {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// inNetns reports whether process pid is in the network namespace id.
func inNetns(pid string, id unix.Stat_t) bool {
	var st unix.Stat_t
	return unix.Stat("/proc/"+pid+"/ns/net", &st) == nil && st.Dev == id.Dev && st.Ino == id.Ino
}
