//go:build linux

package lab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// probePort is a port nobody listens on: a TCP SYN to it that comes back
// as a RST proves the path works both ways.
const probePort = 9

// WaitReady returns once every path carries IPv4 and IPv6 both ways: a
// connection attempt from each client address to the server address of
// its path is answered (refused). A veth's carrier-up reaches IPv6
// address configuration through the kernel's linkwatch, up to a second
// later, and until then IPv6 packets may vanish.
func (tp *Topology) WaitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	return tp.Client.Do(func() error {
		for _, p := range tp.Paths {
			for _, v6 := range []bool{false, true} {
				src, dst := p.Client.Get(v6), p.Server.Get(v6)
				for {
					err := probe(src, dst)
					if err == nil {
						break
					}
					if time.Now().After(deadline) {
						return fmt.Errorf("lab: path %d: %v does not reach %v: %w", p.N, src, dst, err)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		}
		return nil
	})
}

// probe dials dst from src in the calling thread's namespace; a refusal
// or a connection is an answer.
func probe(src, dst netip.Addr) error {
	d := net.Dialer{Timeout: 200 * time.Millisecond, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))}
	c, err := d.Dial("tcp", netip.AddrPortFrom(dst, probePort).String())
	if err == nil {
		c.Close()
		return nil
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return nil
	}
	return err
}
