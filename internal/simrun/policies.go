package simrun

import (
	"fmt"
	"strings"

	"github.com/mptcp-go/mptcp/cc"
	"github.com/mptcp-go/mptcp/pm"
	"github.com/mptcp-go/mptcp/sched"
)

// CheckPolicy reports an unknown scheduler, congestion control or path
// manager name before anything runs, in the registries' words ("unknown
// scheduler "foo"; valid names are ..."), so that the caller can say
// where the name came from: a flag or a scenario field. Kind is
// "scheduler", "cc" or "pm"; an empty name is the default and is fine.
func CheckPolicy(kind, name string) error {
	if name == "" {
		return nil
	}
	var err error
	switch kind {
	case "scheduler":
		_, err = sched.New(name)
	case "cc":
		err = cc.Check(name)
	case "pm":
		_, err = pm.New(name)
	default:
		return fmt.Errorf("simrun: CheckPolicy of kind %q", kind)
	}
	if err != nil {
		// The policy packages prefix some errors with their name; the
		// caller names the flag or field instead.
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "pm: "))
	}
	return nil
}

// checkPolicies checks the scenario's policy names, each under its
// field's name, before the stacks are built (which would report them as
// a core configuration error).
func checkPolicies(at string, scheduler, ccName, pmName string) error {
	for _, p := range [...]struct{ kind, name string }{{"scheduler", scheduler}, {"cc", ccName}, {"pm", pmName}} {
		if err := CheckPolicy(p.kind, p.name); err != nil {
			return fmt.Errorf("%s%s: %w", at, p.kind, err)
		}
	}
	return nil
}
