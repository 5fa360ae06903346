//go:build linux

package compare

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/mptcp-go/mptcp/internal/lab"
)

// EmuCommand returns the command that runs `mptcp emu` with args; the
// mptcp binary passes itself, a test its own re-executing binary.
type EmuCommand func(args ...string) *exec.Cmd

// info is what `mptcp emu run --info` writes.
type info struct {
	PID         int        `json:"pid"`
	Client      string     `json:"client_netns"`
	Emulator    string     `json:"emulator_netns"`
	Server      string     `json:"server_netns"`
	Paths       []infoPath `json:"paths"`
	Competitors []infoPath `json:"competitors"`
}

type infoPath struct {
	Name        string     `json:"name"`
	ClientV4    netip.Addr `json:"client_v4"`
	ServerV4    netip.Addr `json:"server_v4"`
	ClientStack netip.Addr `json:"client_stack_v4"`
	ServerStack netip.Addr `json:"server_stack_v4"`
}

// emulator is a running `mptcp emu run` process.
type emulator struct {
	cmd            *exec.Cmd
	info           info
	client, server lab.Netns
	stdout, stderr bytes.Buffer
	done           chan error
	exited         bool
}

// startEmulator runs the scenario file in its own process, its threads in
// scheduling class sched (empty: the emulator's default), holding its
// schedule, and waits until its network carries traffic.
func startEmulator(ctx context.Context, run EmuCommand, sched, scenarioFile string) (*emulator, error) {
	infoFile := filepath.Join(filepath.Dir(scenarioFile), "info-"+filepath.Base(scenarioFile)+".json")
	e := &emulator{done: make(chan error, 1)}
	args := []string{"emu", "run", "--hold", "--duration", "-1s", "--interval", "0", "--json", "--info", infoFile}
	if sched != "" {
		args = append(args, "--sched", sched)
	}
	e.cmd = run(append(args, scenarioFile)...)
	e.cmd.Stdout, e.cmd.Stderr = &e.stdout, &e.stderr
	if err := e.cmd.Start(); err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	go func() { e.done <- e.cmd.Wait() }()
	// Building the namespaces and checking every path takes seconds; a
	// loaded machine may take tens.
	deadline := time.After(90 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-e.done:
			e.exited = true
			return nil, fmt.Errorf("emulator exited before its network was up (%v): %s", err, bytes.TrimSpace(e.stderr.Bytes()))
		case <-ctx.Done():
			e.stop()
			return nil, ctx.Err()
		case <-deadline:
			e.stop()
			return nil, fmt.Errorf("emulator: no network after 90 s: %s", bytes.TrimSpace(e.stderr.Bytes()))
		case <-tick.C:
		}
		b, err := os.ReadFile(infoFile)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err == nil {
			err = json.Unmarshal(b, &e.info)
		}
		if err != nil {
			e.stop()
			return nil, fmt.Errorf("emulator info: %w", err)
		}
		e.client, e.server = lab.Netns(e.info.Client), lab.Netns(e.info.Server)
		return e, nil
	}
}

// startSchedule starts the scenario's outages and changes.
func (e *emulator) startSchedule() error {
	if err := e.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		return fmt.Errorf("emulator: start schedule: %w", err)
	}
	return nil
}

// stop ends the emulator, which removes its namespaces, and reports an
// emulator that failed.
func (e *emulator) stop() error {
	if e.exited {
		return nil
	}
	e.exited = true
	e.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-e.done:
		if err != nil {
			return fmt.Errorf("emulator: %w: %s", err, bytes.TrimSpace(e.stderr.Bytes()))
		}
		return nil
	case <-time.After(30 * time.Second):
		e.cmd.Process.Kill()
		<-e.done
		return errors.New("emulator: still running 30 s after SIGINT; killed (its namespaces are swept by the next run)")
	}
}

// failed reports an emulator that stopped on its own.
func (e *emulator) failed() error {
	select {
	case err := <-e.done:
		e.exited = true
		return fmt.Errorf("emulator stopped (%v): %s", err, bytes.TrimSpace(e.stderr.Bytes()))
	default:
		return nil
	}
}
