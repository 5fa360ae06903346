//go:build linux

package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/mptcp-go/mptcp"
	"github.com/mptcp-go/mptcp/host"
	"github.com/mptcp-go/mptcp/internal/proxy"
	"github.com/mptcp-go/mptcp/observe"
)

// userTransport starts this project's user-space stack on the uplinks
// (package host: TUN devices, policy routing, NAT when asked) and returns
// it as the proxy's MPTCP leg, writing a trace of each connection into
// traceDir if set. Each uplink is IFACE or IFACE:backup.
func userTransport(uplinks []string, nat bool, traceDir string, log *slog.Logger) (proxy.Transport, func(), error) {
	if len(uplinks) == 0 {
		return proxy.Transport{}, nil, usagef("--stack user needs --uplink IFACE (one per path)")
	}
	var paths []host.Path
	for _, u := range uplinks {
		name, flag, _ := strings.Cut(u, ":")
		if flag != "" && flag != "backup" {
			return proxy.Transport{}, nil, usagef("--uplink %q: IFACE or IFACE:backup", u)
		}
		paths = append(paths, host.Path{Uplink: name, Backup: flag == "backup"})
	}
	rec := observe.NewRecorder(0)
	h, err := host.Start(host.Config{Paths: paths, NAT: nat, Name: "mptcp-px", Stack: mptcp.Config{Events: rec.Sink},
		OnError: func(err error) { log.Warn("user-space stack", "err", err) }})
	if err != nil {
		return proxy.Transport{}, nil, err
	}
	stopTrace := func() error { return nil }
	if traceDir != "" {
		if stopTrace, err = startTraceDir(traceDir, h.Stack, rec); err != nil {
			h.Close()
			return proxy.Transport{}, nil, err
		}
	}
	log.Info("user-space MPTCP stack up", "uplinks", uplinks, "addrs", fmt.Sprint(h.Addrs()), "nat", nat, "trace", traceDir)
	tr := proxy.Transport{
		Name: "user",
		// With TCP Fast Open (RFC 8684 appendix B on this stack too) the
		// Convert message rides the SYN, and the converter takes it.
		Listen: func(ctx context.Context, addr string, tfo bool) (net.Listener, error) {
			return h.ListenConfig(ctx, mptcp.ListenConfig{FastOpen: tfo}, "tcp", addr)
		},
		Dialer: func(tfo bool) proxy.Dialer { return &mptcp.Dialer{Stack: h.Stack, FastOpen: tfo} },
		Sockets: func() ([]observe.Socket, error) {
			return observe.SocketsOf(h.Stack.Conns(), observe.Limits{}, rec.Schedule), nil
		},
		Source:   h.Stack,
		Recorder: rec,
	}
	return tr, func() {
		// Relays closed while stopping deliver their last bytes first.
		ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
		defer cancel()
		_ = h.Shutdown(ctx)
		// After the stack: the traces end with the connections' close.
		if err := stopTrace(); err != nil {
			log.Warn("trace", "err", err)
		}
	}, nil
}
