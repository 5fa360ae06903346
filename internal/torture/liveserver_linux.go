//go:build linux

package torture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/internal/tunhost"
	"github.com/mptcp-go/mptcp/link/tun"
	"github.com/mptcp-go/mptcp/tcp"
)

// ServeLive is the server process of a live round. spec is
// "NETNS=ADDR,ADDR...": in that namespace it creates a TUN device, routes
// the addresses into it, and serves on our stack (port 5201, through the
// public API) and on a kernel MPTCP socket (port 5202): each connection
// gets back what it sends, then EOF. It prints "ready" once both listen,
// and when stdin ends, prints our stack's counters as JSON and returns.
func ServeLive(spec string, stdin io.Reader, stdout io.Writer) error {
	name, list, ok := strings.Cut(spec, "=")
	if !ok || name == "" {
		return fmt.Errorf("torture: live server spec %q: want NETNS=ADDR[,ADDR]", spec)
	}
	ns := lab.Netns(name)
	var addrs []netip.Addr
	var routes []string
	var prefixes []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("torture: live server spec: %w", err)
		}
		addrs = append(addrs, a)
		prefixes = append(prefixes, netip.PrefixFrom(a, a.BitLen()))
		routes = append(routes, fmt.Sprintf("route add %s dev %s", prefixes[len(prefixes)-1], ourTUN))
	}
	const mtu = 1500
	dev, err := ns.CreateTUN(ourTUN, mtu)
	if err != nil {
		return err
	}
	if err := ns.IP(routes...); err != nil {
		dev.Close()
		return err
	}
	h, err := tunhost.New(tunhost.Config{Addrs: addrs, Interfaces: []tun.Interface{{Device: dev, MTU: mtu, Prefixes: prefixes}}})
	if err != nil {
		return err
	}
	defer h.Close()
	ours, err := h.Stack.Listen("tcp", fmt.Sprintf(":%d", ourPort))
	if err != nil {
		return err
	}
	var kern net.Listener
	err = ns.Do(func() error {
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		var err error
		kern, err = lc.Listen(context.Background(), "tcp4", fmt.Sprintf(":%d", kernelPort))
		return err
	})
	if err != nil {
		ours.Close()
		return err
	}
	var wg sync.WaitGroup
	for _, ln := range []net.Listener{ours, kern} {
		wg.Add(1)
		go func() { defer wg.Done(); serveEcho(ln) }()
	}
	fmt.Fprintln(stdout, "ready")
	_, _ = io.Copy(io.Discard, stdin)
	ours.Close()
	kern.Close()
	wg.Wait()
	return json.NewEncoder(stdout).Encode(liveReport{MIB: h.Stack.MIB().Map(false), TCP: tcpStatsMap(h.Stack.TCPStats())})
}

// serverConnLimit bounds a connection of the server process: longer than
// any round.
const serverConnLimit = 2 * time.Minute

// serveEcho echoes every connection of ln until ln closes.
func serveEcho(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // an aborted handshake: the listener goes on
		}
		go func() {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(serverConnLimit))
			// Close, after the client's EOF, still delivers what was
			// written (both stacks).
			_, _ = io.Copy(c, c)
		}()
	}
}

// tcpStatsMap returns the TCP engine's counters by field name.
func tcpStatsMap(s tcp.StackStats) map[string]uint64 {
	b, _ := json.Marshal(s)
	m := make(map[string]uint64)
	_ = json.Unmarshal(b, &m)
	return m
}
