package cc

import (
	"errors"
	"fmt"
	reg "github.com/mptcp-go/mptcp/internal/registry"
)

// Default is the name of the algorithm used when none is chosen.
const Default = "cubic"

// ErrUnknown is returned, wrapped, by New for a name nothing registered.
var ErrUnknown = errors.New("unknown congestion control")

// ErrInvalidParams is returned, wrapped, by New for Params it cannot use.
var ErrInvalidParams = errors.New("invalid congestion control parameters")

// Factory makes a Controller from validated Params with defaults filled in.
type Factory func(p Params) (Controller, error)

var registry = reg.New[Factory]("cc")

// Register makes an algorithm available by name. An algorithm registers
// itself from an init function in its own file. Register panics if name is
// empty or already taken or f is nil: those are programming errors, found
// when the program starts.
func Register(name string, f Factory) { registry.Register(name, f, f == nil) }

// New returns a new Controller of the named algorithm. An unknown name gives
// an error wrapping ErrUnknown that lists the valid names; unusable Params
// give one wrapping ErrInvalidParams.
func New(name string, p Params) (Controller, error) {
	f, ok := registry.Lookup(name)
	if !ok {
		return nil, registry.Unknown(ErrUnknown, name, Names())
	}
	p, err := p.withDefaults()
	if err != nil {
		return nil, err
	}
	c, err := f(p)
	if err != nil {
		return nil, fmt.Errorf("cc: %s: %w", name, err)
	}
	return c, nil
}

// Names returns the registered names, sorted.
func Names() []string { return registry.Names() }

// Check reports a name nothing registered with the error New gives for
// it, without making a controller.
func Check(name string) error {
	if _, ok := registry.Lookup(name); !ok {
		return registry.Unknown(ErrUnknown, name, Names())
	}
	return nil
}
