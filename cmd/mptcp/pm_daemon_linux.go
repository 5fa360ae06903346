//go:build linux

package main

import (
	"flag"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"

	"github.com/mptcp-go/mptcp/internal/pmdaemon"
)

func pmDaemonFlags(fs *flag.FlagSet) Action {
	configFile := fs.String("config", "", "read the configuration from `FILE` (YAML)")
	policy := fs.String("policy", "", "policy: fullmesh, ndiffports or none (default fullmesh)")
	ndiff := fs.Int("ndiffports", 0, "subflows over the initial address pair, for ndiffports (default 2)")
	maxSub := fs.Int("max-subflows", 0, "extra subflows per connection, at most (default 8)")
	allow := fs.String("allow", "", "use only interfaces matching these comma-separated `patterns`")
	deny := fs.String("deny", "", "never use interfaces matching these comma-separated `patterns`")
	backup := fs.String("backup", "", "make subflows on interfaces matching these comma-separated `patterns` backup")
	announce := fs.String("announce", "", "announce these comma-separated `ADDR, ADDR:PORT, :PORT or dev=NAME` on accepted connections")
	keep := fs.Bool("keep-path-manager", false, "do not switch net.mptcp.path_manager to userspace")
	jsonOut := fs.Bool("json", false, "log JSON lines instead of text")
	verbose := fs.Bool("v", false, "log every kernel event too")
	return func(inv *Invocation) error {
		stderr := inv.Stderr
		if len(inv.Args) != 0 {
			return usagef("daemon takes no arguments, got %q", inv.Args[0])
		}

		cfg := pmdaemon.DefaultConfig()
		if *configFile != "" {
			var err error
			if cfg, err = pmdaemon.LoadConfig(*configFile); err != nil {
				return err
			}
		}
		if *policy != "" {
			cfg.Policy = *policy
		}
		if *ndiff != 0 {
			cfg.Ndiffports = *ndiff
		}
		if *maxSub != 0 {
			cfg.MaxSubflows = *maxSub
		}
		if *allow != "" {
			cfg.Interfaces.Allow = splitList(*allow)
		}
		if *deny != "" {
			cfg.Interfaces.Deny = splitList(*deny)
		}
		if *backup != "" {
			cfg.Backup = splitList(*backup)
		}
		if *announce != "" {
			anns, err := parseAnnounceList(*announce)
			if err != nil {
				return err
			}
			cfg.Announce = anns
		}
		if *keep {
			cfg.PathManager = pmdaemon.PathManagerKeep
		}
		if err := cfg.Validate(); err != nil {
			return usagef("%v", err)
		}

		opts := &slog.HandlerOptions{Level: slog.LevelInfo}
		if *verbose {
			opts.Level = slog.LevelDebug
		}
		var h slog.Handler = slog.NewTextHandler(stderr, opts)
		if *jsonOut {
			h = slog.NewJSONHandler(stderr, opts)
		}
		ctx := inv.Context()
		return pmError(pmdaemon.Run(ctx, cfg, slog.New(h)))

	}
}

// parseAnnounceList reads "192.0.2.1,192.0.2.1:8443,:8443,dev=eth1,[2001:db8::1]:80".
func parseAnnounceList(s string) ([]pmdaemon.Announce, error) {
	var out []pmdaemon.Announce
	for _, w := range splitList(s) {
		bad := usagef("--announce: bad entry %q (want ADDR, ADDR:PORT, :PORT or dev=NAME)", w)
		switch {
		case strings.HasPrefix(w, "dev="):
			out = append(out, pmdaemon.Announce{Interface: strings.TrimPrefix(w, "dev=")})
		case strings.HasPrefix(w, ":"):
			p, err := strconv.ParseUint(w[1:], 10, 16)
			if err != nil || p == 0 {
				return nil, bad
			}
			out = append(out, pmdaemon.Announce{Port: uint16(p)})
		default:
			if a, err := netip.ParseAddr(w); err == nil {
				out = append(out, pmdaemon.Announce{Address: a.String()})
				continue
			}
			ap, err := netip.ParseAddrPort(w)
			if err != nil {
				return nil, bad
			}
			out = append(out, pmdaemon.Announce{Address: ap.Addr().String(), Port: ap.Port()})
		}
	}
	return out, nil
}
