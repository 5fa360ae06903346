//go:build !linux

package torture

import (
	"errors"
	"io"
)

// errLiveLinux is why the live cases cannot run here.
var errLiveLinux = errors.New("torture: the live cases need Linux (network namespaces, TUN, raw sockets) and root")

// attacker sends nothing here: the live cases run on Linux only.
type attacker struct{}

// LiveCases returns no case on this system.
func LiveCases() []Case { return nil }

// LiveAvailable says why the live cases cannot run here.
func LiveAvailable() error { return errLiveLinux }

// ServeLive fails on this system.
func ServeLive(string, io.Reader, io.Writer) error { return errLiveLinux }

func runLive(*Case, []uint64, ServerLauncher, func(Record) error) error { return errLiveLinux }
