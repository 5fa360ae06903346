package observe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mptcp-go/mptcp/core"
)

// Listen opens the endpoint's listener: "unix:PATH" is a Unix socket
// (a stale socket file is replaced), anything else a TCP address such as
// "127.0.0.1:6060".
func Listen(addr string) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			_ = os.Remove(path)
		}
		return net.Listen("unix", path)
	}
	return net.Listen("tcp", addr)
}

// Serve serves h on addr (as Listen reads it) until ctx ends.
func Serve(ctx context.Context, addr string, h http.Handler) error {
	ln, err := Listen(addr)
	if err != nil {
		return fmt.Errorf("debug endpoint: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Client returns an HTTP client that reaches an endpoint at addr (as
// Listen reads it), and the base URL to use with it.
func Client(addr string) (*http.Client, string) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}}
		return &http.Client{Transport: tr}, "http://unix"
	}
	return http.DefaultClient, "http://" + addr
}

// CoreSource adapts a core.Stack driven under mu (a simulator's or a
// TUN driver's lock) to a Source.
func CoreSource(s *core.Stack, mu sync.Locker) Source { return coreSource{s, mu} }

type coreSource struct {
	s  *core.Stack
	mu sync.Locker
}

func (c coreSource) Conns() []core.ConnInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []core.ConnInfo
	for _, cn := range c.s.Conns() {
		out = append(out, cn.Info())
	}
	return out
}

func (c coreSource) MIB() core.MIBSnapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.s.MIB()
}
