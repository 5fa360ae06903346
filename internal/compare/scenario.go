package compare

import (
	"fmt"
	"time"

	"github.com/mptcp-go/mptcp/scenario"
	"gopkg.in/yaml.v3"
)

// scaled returns the built-in scenario name shortened to duration d: its
// outages and changes moved in proportion, so that a handover still
// happens a third of the way in. The result is YAML (what the emulator
// process reads) and its compiled form (what the simulator runs): the two
// are the same scenario.
func scaled(name string, d time.Duration) ([]byte, *scenario.Scenario, error) {
	src, ok := scenario.BuiltinFile(name)
	if !ok {
		return nil, nil, fmt.Errorf("no built-in scenario %q", name)
	}
	var f scenario.File
	if err := yaml.Unmarshal(src, &f); err != nil {
		return nil, nil, fmt.Errorf("built-in scenario %s: %w", name, err)
	}
	orig := scenario.DefaultDuration
	if f.Duration != "" {
		var err error
		if orig, err = scenario.ParseDuration(f.Duration); err != nil {
			return nil, nil, fmt.Errorf("built-in scenario %s: %w", name, err)
		}
	}
	scale := func(s string) (string, error) {
		v, err := scenario.ParseDuration(s)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%dms", time.Duration(float64(v)*float64(d)/float64(orig)).Milliseconds()), nil
	}
	var err error
	for i := range f.Paths {
		p := &f.Paths[i]
		for j := range p.Outages {
			if p.Outages[j].At, err = scale(p.Outages[j].At); err != nil {
				return nil, nil, err
			}
			if p.Outages[j].For, err = scale(p.Outages[j].For); err != nil {
				return nil, nil, err
			}
		}
		for j := range p.Changes {
			if p.Changes[j].At, err = scale(p.Changes[j].At); err != nil {
				return nil, nil, err
			}
		}
	}
	f.Duration = fmt.Sprintf("%dms", d.Milliseconds())
	out, err := yaml.Marshal(&f)
	if err != nil {
		return nil, nil, fmt.Errorf("scenario %s: %w", name, err)
	}
	sc, err := scenario.Parse(out)
	if err != nil {
		return nil, nil, fmt.Errorf("scaled scenario %s: %w", name, err)
	}
	return out, sc, nil
}

// firstOutage returns when the first path goes down and comes back.
func firstOutage(sc *scenario.Scenario) (down, up time.Duration, err error) {
	down = -1
	for _, ev := range sc.Paths[0].Events {
		switch {
		case ev.Down && down < 0:
			down = ev.At
		case ev.Up && down >= 0:
			return down, ev.At, nil
		}
	}
	if down >= 0 {
		return down, sc.Duration, nil
	}
	return 0, 0, fmt.Errorf("scenario %s: the first path never goes down", sc.Name)
}
