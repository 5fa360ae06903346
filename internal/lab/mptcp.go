//go:build linux

package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// Endpoint is an in-kernel MPTCP path-manager endpoint (ip mptcp endpoint).
type Endpoint struct {
	Addr netip.Addr
	// ID is the endpoint's address id (0: the kernel picks one).
	ID int
	// Dev binds the subflows the endpoint creates to an interface.
	Dev string
	// Port makes a signal endpoint announce a port, and listen on it.
	Port uint16
	// Flags are the kernel's names: signal, subflow, backup, fullmesh.
	Flags []string
}

// MPTCPLimits sets the in-kernel path manager's limits in the namespace:
// the extra subflows per connection and the ADD_ADDRs accepted.
func (n Netns) MPTCPLimits(subflows, addAddrAccepted int) error {
	_, err := n.Exec("ip", "mptcp", "limits", "set",
		"subflows", strconv.Itoa(subflows), "add_addr_accepted", strconv.Itoa(addAddrAccepted))
	return err
}

// AddMPTCPEndpoint adds an endpoint to the in-kernel path manager.
func (n Netns) AddMPTCPEndpoint(e Endpoint) error {
	if !e.Addr.IsValid() {
		return fmt.Errorf("lab: MPTCP endpoint without an address")
	}
	args := []string{"ip", "mptcp", "endpoint", "add", e.Addr.String()}
	if e.ID != 0 {
		args = append(args, "id", strconv.Itoa(e.ID))
	}
	if e.Dev != "" {
		args = append(args, "dev", e.Dev)
	}
	if e.Port != 0 {
		args = append(args, "port", strconv.Itoa(int(e.Port)))
	}
	args = append(args, e.Flags...)
	_, err := n.Exec(args...)
	return err
}

// FlushMPTCPEndpoints removes every endpoint of the in-kernel path
// manager.
func (n Netns) FlushMPTCPEndpoints() error {
	_, err := n.Exec("ip", "mptcp", "endpoint", "flush")
	return err
}

// Nstat returns the namespace's kernel counters, absolute values,
// zeros included (nstat -asz): Tcp*, TcpExt*, Ip*, MPTcpExt* and the
// rest, by the kernel's names. It leaves nstat's history alone.
func (n Netns) Nstat() (map[string]uint64, error) {
	out, err := n.Exec("nstat", "-asz", "-j")
	if err != nil {
		return nil, err
	}
	var doc map[string]map[string]uint64
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		return nil, fmt.Errorf("lab: nstat in %s: %w", n, err)
	}
	c := doc["kernel"]
	if c == nil {
		return nil, fmt.Errorf("lab: nstat in %s: no kernel counters", n)
	}
	return c, nil
}

// ListenMPTCP opens a kernel MPTCP listener in the namespace; it is closed
// when the test ends.
func (n Netns) ListenMPTCP(t T, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	err := n.Do(func() error {
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		var err error
		ln, err = lc.Listen(context.Background(), "tcp", addr)
		return err
	})
	if err != nil {
		t.Fatal(fmt.Errorf("lab: listen on %s in %s: %w", addr, n, err))
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// DialMPTCP opens a kernel MPTCP connection from the namespace, failing
// the test if the kernel fell back to TCP; it is closed when the test
// ends.
func (n Netns) DialMPTCP(t T, addr string) net.Conn {
	t.Helper()
	var c net.Conn
	err := n.Do(func() error {
		d := net.Dialer{Timeout: 10 * time.Second}
		d.SetMultipathTCP(true)
		var err error
		c, err = d.Dial("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatal(fmt.Errorf("lab: dial %s from %s: %w", addr, n, err))
	}
	t.Cleanup(func() { c.Close() })
	if mp, err := c.(*net.TCPConn).MultipathTCP(); err != nil || !mp {
		t.Fatal(fmt.Sprintf("lab: the connection to %s is not MPTCP (err %v): the kernel fell back to TCP", addr, err))
	}
	return c
}
