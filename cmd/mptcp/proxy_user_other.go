//go:build !linux

package main

import (
	"errors"
	"log/slog"

	"github.com/mptcp-go/mptcp/internal/proxy"
)

func userTransport([]string, bool, string, *slog.Logger) (proxy.Transport, func(), error) {
	return proxy.Transport{}, nil, errors.New("--stack user needs Linux (TUN devices and policy routing)")
}
