package torture

import (
	"os/exec"
	"time"
)

// Attack is the adversary of a live case (see LiveCases): where the
// simulator cases forge packets inside the simulator, a live case runs
// real namespaces with a server of this stack on a TUN device and a
// kernel MPTCP server, kernel and user-space clients moving byte-checked
// data to both, and an attacker in a namespace of its own sending,
// bounded in count and rate, what its Knowledge lets it forge.
type Attack struct {
	// Knowledge says what the attacker knows of the connections it
	// attacks, and how it learnt it.
	Knowledge string
	// Counters name the server counters that show the attack counted:
	// "ours:NAME" for this stack's (MIB or TCP counters, by their
	// names), "kernel:NAME" for the kernel's (nstat names).
	Counters []string
	// Blind attacks need no connection to watch: they start before the
	// clients dial. The others start once the attacker has seen the
	// connections' handshakes and data on its tap.
	Blind bool
	// Limit, if set, bounds the round instead of 25 s.
	Limit time.Duration
	// Target, if set, limits an on-path attack to the connections to
	// one server: "ours" or "kernel".
	Target string
	// fire sends the attack into the round's network.
	fire func(a *attacker) error
}

// ServerLauncher returns the command that runs ServeLive with spec in a
// process of its own (the tool re-executing itself), so that the server's
// memory and any crash are its own.
type ServerLauncher func(spec string) *exec.Cmd
