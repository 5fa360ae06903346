package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/mptcp-go/mptcp/observe"
)

// Transport is the MPTCP leg's stack: how the converter listens and the
// front end dials. Kernel is the kernel's MPTCP; the command supplies this
// project's user-space stack the same way.
type Transport struct {
	Name   string
	Listen func(ctx context.Context, addr string, tfo bool) (net.Listener, error)
	Dialer func(tfo bool) Dialer
	// Sockets, if set, lists the stack's MPTCP connections and their
	// subflows (as mptcp stat -t -i) for the status endpoint's paths and
	// limits.
	Sockets func() ([]observe.Socket, error)
	// Source and Recorder, if set, are the stack's debug view (the
	// user-space stack's), served beside the status.
	Source   observe.Source
	Recorder *observe.Recorder
}

// Kernel is the kernel's MPTCP (Linux 5.6+; TCP Fast Open with MPTCP from
// 6.2).
var Kernel = Transport{Name: "kernel", Listen: ListenKernel, Dialer: KernelDialer, Sockets: kernelSockets}

// NewServer builds a converter from its configuration.
func NewServer(cfg *ServerConfig, log *slog.Logger) (*Server, error) {
	key, err := loadKey(cfg.Key, cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	s := &Server{Key: key, MaxPerClient: cfg.MaxPerClient, Log: log}
	s.Policy.AllowLocal = cfg.AllowLocal
	s.Policy.Ports = cfg.Ports
	if s.Policy.Allow, err = parsePrefixes("allow", cfg.Allow); err != nil {
		return nil, err
	}
	if s.Policy.Deny, err = parsePrefixes("deny", cfg.Deny); err != nil {
		return nil, err
	}
	return s, checkStack(cfg.Stack)
}

// RunServer runs a converter on tr until ctx ends.
func RunServer(ctx context.Context, cfg *ServerConfig, tr Transport, log *slog.Logger) error {
	s, err := NewServer(cfg, log)
	if err != nil {
		return err
	}
	addr := cfg.Listen
	if addr == "" {
		addr = ":" + strconv.Itoa(DefaultPort)
	}
	tf := TLSFiles{Cert: cfg.TLSCert, Key: cfg.TLSKey, CA: cfg.TLSClientCA}
	var tcfg *tls.Config
	if tf.set() {
		if tcfg, err = ServerTLS(tf); err != nil {
			return err
		}
	}
	l, err := tr.Listen(ctx, addr, on(cfg.TFO))
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	if tcfg != nil {
		l = tls.NewListener(l, tcfg)
	}
	log.Info("converter listening", "addr", l.Addr().String(), "stack", tr.Name, "tfo", on(cfg.TFO), "auth", len(s.Key) > 0, "mutual_tls", tcfg != nil)
	if len(s.Key) == 0 && tcfg == nil {
		log.Warn("no key: any client can relay through this converter (set key or key_file)")
	}
	status := StatusHandler(&s.Stats, &tr, localPort(addrOf(l.Addr()).Port()))
	return serveUntil(ctx, l, s.Serve, cfg.Status, status, log)
}

// NewFront builds a front end from its configuration.
func NewFront(cfg *ClientConfig, tr Transport, log *slog.Logger) (*Front, error) {
	if cfg.Server == "" {
		return nil, errors.New("no converter: set server (HOST:PORT)")
	}
	if _, _, err := net.SplitHostPort(cfg.Server); err != nil {
		return nil, fmt.Errorf("server %q: %v", cfg.Server, err)
	}
	if err := checkStack(cfg.Stack); err != nil {
		return nil, err
	}
	key, err := loadKey(cfg.Key, cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	if (cfg.User == "") != (cfg.Password == "") {
		return nil, errors.New("user and password go together")
	}
	d := tr.Dialer(on(cfg.TFO))
	if tf := (TLSFiles{Cert: cfg.TLSCert, Key: cfg.TLSKey, CA: cfg.TLSCA, ServerName: cfg.TLSName}); tf.set() {
		tcfg, err := ClientTLS(tf, cfg.Server)
		if err != nil {
			return nil, err
		}
		d = &TLSDialer{Dialer: d, Config: tcfg}
	}
	return &Front{
		Client: &Client{Converter: cfg.Server, Dialer: d, Key: key},
		Creds:  Credentials{User: cfg.User, Password: cfg.Password},
		Strict: cfg.Strict,
		Log:    log,
	}, nil
}

// RunClient runs the front end's listeners until ctx ends.
func RunClient(ctx context.Context, cfg *ClientConfig, tr Transport, log *slog.Logger) error {
	f, err := NewFront(cfg, tr, log)
	if err != nil {
		return err
	}
	if cfg.Socks == "" && cfg.Transparent == "" {
		cfg.Socks = "127.0.0.1:1080"
	}
	errc := make(chan error, 2)
	var ls []net.Listener
	if cfg.Socks != "" {
		l, err := net.Listen("tcp", cfg.Socks)
		if err != nil {
			return fmt.Errorf("SOCKS5/HTTP listener: %w", err)
		}
		ls = append(ls, l)
		log.Info("SOCKS5 and HTTP CONNECT", "addr", l.Addr().String(), "converter", cfg.Server, "stack", tr.Name)
		go func() { errc <- f.ServeProxy(l) }()
	}
	if cfg.Transparent != "" {
		l, err := listenTransparent(ctx, cfg)
		if err != nil {
			closeAll(ls)
			return err
		}
		ls = append(ls, l)
		log.Info("transparent", "addr", l.Addr().String(), "tproxy", cfg.TProxy)
		go func() { errc <- f.ServeTransparent(l) }()
	}
	stop := serveStatus(cfg.Status, StatusHandler(&f.Stats, &tr, peerPort(portOf(cfg.Server))), log)
	defer stop()
	select {
	case <-ctx.Done():
		closeAll(ls)
		return nil
	case err := <-errc:
		closeAll(ls)
		return err
	}
}

func listenTransparent(ctx context.Context, cfg *ClientConfig) (net.Listener, error) {
	if cfg.TProxy {
		return ListenTransparent(ctx, cfg.Transparent)
	}
	l, err := net.Listen("tcp", cfg.Transparent)
	if err != nil {
		return nil, fmt.Errorf("transparent listener: %w", err)
	}
	return l, nil
}

func closeAll(ls []net.Listener) {
	for _, l := range ls {
		l.Close()
	}
}

// serveUntil runs serve on l until ctx ends, with the status endpoint.
func serveUntil(ctx context.Context, l net.Listener, serve func(net.Listener) error, status string, h http.Handler, log *slog.Logger) error {
	stop := serveStatus(status, h, log)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- serve(l) }()
	select {
	case <-ctx.Done():
		l.Close()
		return nil
	case err := <-errc:
		return err
	}
}

// serveStatus starts the status endpoint on addr ("" for none) and
// returns its stop function.
func serveStatus(addr string, h http.Handler, log *slog.Logger) func() {
	if addr == "" {
		return func() {}
	}
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("status endpoint", "addr", addr, "err", err)
		}
	}()
	return func() { _ = srv.Close() }
}
