package kpm

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// Config tunes how a Conn is opened. The zero value opens it in the
// calling thread's network namespace.
type Config struct {
	// NetNS, if non-zero, is an open file descriptor of the network
	// namespace to work in (for example from /run/netns/NAME). The socket
	// keeps that namespace for its whole life.
	NetNS int
}

// Conn is a connection to the kernel's mptcp_pm generic netlink family,
// for requests (endpoints, limits, userspace path manager commands). Events
// arrive on a separate EventConn so that they never interleave with replies.
// A Conn is safe for use by several goroutines: each request is a
// send-and-receive under the netlink library's lock.
type Conn struct {
	c      *genetlink.Conn
	family genetlink.Family
}

// Dial opens a Conn. It returns ErrNotSupported when the kernel has no
// MPTCP.
func Dial(cfg *Config) (*Conn, error) {
	c, err := genetlink.Dial(netlinkConfig(cfg))
	if err != nil {
		return nil, opError("open generic netlink socket", err)
	}
	return newConn(c)
}

// newConn takes over an open generic netlink connection.
func newConn(c *genetlink.Conn) (*Conn, error) {
	fam, err := openFamily(c)
	if err != nil {
		c.Close()
		return nil, err
	}
	return &Conn{c: c, family: fam}, nil
}

func netlinkConfig(cfg *Config) *netlink.Config {
	var ncfg netlink.Config
	if cfg != nil {
		ncfg.NetNS = cfg.NetNS
	}
	return &ncfg
}

// openFamily prepares c for the mptcp_pm family and returns the family.
func openFamily(c *genetlink.Conn) (genetlink.Family, error) {
	// Extended acks carry the kernel's reason for a refusal, which is far
	// clearer than the bare errno ("limit greater than maximum (8)" rather
	// than "invalid argument"). Kernels before 4.12 lack them; requests
	// still work there, so this is best effort.
	_ = c.SetOption(netlink.ExtendedAcknowledge, true)
	fam, err := c.GetFamily(familyName)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return genetlink.Family{}, ErrNotSupported
		}
		return genetlink.Family{}, opError("look up generic netlink family "+familyName, err)
	}
	return fam, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

// SetDeadline bounds every following request; the zero time removes the
// bound.
func (c *Conn) SetDeadline(t time.Time) error { return c.c.SetDeadline(t) }

// request sends one command and returns the kernel's replies. A request
// that expects no data asks for an acknowledgement so that errors are
// reported rather than lost.
func (c *Conn) request(op string, cmd uint8, flags netlink.HeaderFlags, ae *netlink.AttributeEncoder) ([]genetlink.Message, error) {
	var data []byte
	if ae != nil {
		b, err := ae.Encode()
		if err != nil {
			return nil, fmt.Errorf("%s: encode request: %w", op, err)
		}
		data = b
	}
	msg := genetlink.Message{
		Header: genetlink.Header{Command: cmd, Version: c.family.Version},
		Data:   data,
	}
	msgs, err := c.c.Execute(msg, c.family.ID, netlink.Request|flags)
	if err != nil {
		return nil, opError(op, err)
	}
	return msgs, nil
}

// errShortReply reports a reply without the attributes the kernel always sends.
var errShortReply = errors.New("kernel reply lacks the expected attributes")
