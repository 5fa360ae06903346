package netsim

import (
	"fmt"
	"slices"
	"time"
)

// A Change is one step of a pipe's schedule: made with Down, Up, Rate,
// Delay, Loss or Config and applied at a virtual time by Pipe.Schedule or
// Link.Schedule.
type Change interface {
	apply(p *Pipe)
	validate() error
}

type upChange bool

func (c upChange) apply(p *Pipe)   { p.SetUp(bool(c)) }
func (c upChange) validate() error { return nil }

// Down takes the pipe down (see Pipe.SetUp).
func Down() Change { return upChange(false) }

// Up brings the pipe back up.
func Up() Change { return upChange(true) }

type configChange struct {
	edit func(*PipeConfig)
	err  error
}

func (c configChange) apply(p *Pipe) {
	cfg := p.cfg
	c.edit(&cfg)
	p.setConfig(cfg)
}

func (c configChange) validate() error { return c.err }

// Rate changes the rate (bit/s, 0: infinite). The packet being transmitted
// finishes at the old rate.
func Rate(bps int64) Change {
	c := configChange{edit: func(cfg *PipeConfig) { cfg.Rate = bps }}
	if bps < 0 {
		c.err = fmt.Errorf("%w: negative rate %d", ErrInvalidConfig, bps)
	}
	return c
}

// Delay changes the propagation delay. Packets already in flight keep
// their arrival time, and later packets never overtake them.
func Delay(d time.Duration) Change {
	c := configChange{edit: func(cfg *PipeConfig) { cfg.Delay = d }}
	if d < 0 {
		c.err = fmt.Errorf("%w: negative delay %v", ErrInvalidConfig, d)
	}
	return c
}

// Loss changes the random loss probability.
func Loss(p float64) Change {
	c := configChange{edit: func(cfg *PipeConfig) { cfg.Loss = p }}
	if !(p >= 0 && p <= 1) {
		c.err = fmt.Errorf("%w: loss probability %v not in [0, 1]", ErrInvalidConfig, p)
	}
	return c
}

// Config replaces the whole configuration.
func Config(cfg PipeConfig) Change {
	return configChange{edit: func(c *PipeConfig) { *c = cfg }, err: cfg.Validate()}
}

// Schedule applies changes, in order, at virtual time at. Like every event,
// a change at the same nanosecond as another event runs in the order the
// two were scheduled; a schedule set up before the run therefore applies
// before packets due at that instant.
func (p *Pipe) Schedule(at time.Time, changes ...Change) error {
	for _, c := range changes {
		if err := c.validate(); err != nil {
			return fmt.Errorf("pipe %s: schedule at %v: %w", p.name, at, err)
		}
	}
	if p.s.vtime(at) < p.s.now {
		return fmt.Errorf("pipe %s: schedule at %v: %w", p.name, at, ErrPast)
	}
	changes = slices.Clone(changes)
	p.s.Schedule(at, func() {
		for _, c := range changes {
			c.apply(p)
		}
	})
	return nil
}
