package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/mptcp-go/mptcp/internal/sockdiag"
	"github.com/mptcp-go/mptcp/observe"
)

var cmdStat = &Command{
	Name:  "stat",
	Usage: "[--endpoint ADDR | --stack kernel] [-t] [-i] [-l] [--json] [--watch D]",
	Short: "list MPTCP connections and subflows as ss -Mtni does, of our stack or the kernel",
	Long: `List MPTCP connections as "ss -M" does, with the same words and fields: with
-t their TCP subflows too, with -i the details of each (mptcp_info, tcp_info,
the tcp-ulp-mptcp part); "mptcp stat -t -i" is "ss -Mtni".

The kernel's sockets of the current network namespace come from sock_diag
(--stack kernel, the default without --endpoint; Linux only). Our stack's
come from a program's debug endpoint (--endpoint unix:/run/app.sock or
--endpoint 127.0.0.1:6060; see package observe), with our additions: the
policies, the fallback reason and the scheduler's latest choices.`,
	Run: statFlagSet,
}

func init() { root.Add(cmdStat) }

type statFlags struct {
	endpoint, stack string
	tcp, info, list bool
	json            bool
	watch           time.Duration
	count           int
}

func statFlagSet(fs *flag.FlagSet) Action {
	var f statFlags
	fs.StringVar(&f.endpoint, "endpoint", "", "our stack's debug endpoint: unix:PATH or HOST:PORT")
	fs.StringVar(&f.stack, "stack", "", "whose connections: ours (needs --endpoint) or kernel (default without --endpoint)")
	fs.BoolVar(&f.tcp, "t", false, "list the TCP subflows too (ss -t)")
	fs.BoolVar(&f.info, "i", false, "show details (ss -i)")
	fs.BoolVar(&f.list, "l", false, "list listening sockets instead (kernel only, ss -l)")
	fs.BoolVar(&f.json, "json", false, "print each listing as one JSON array")
	fs.DurationVar(&f.watch, "watch", 0, "list again every `D` until interrupted")
	fs.IntVar(&f.count, "count", 0, "with --watch, stop after `N` listings (0: no limit)")
	return func(inv *Invocation) error {
		stdout := inv.Stdout
		if len(inv.Args) != 0 {
			return usagef("stat takes no arguments, got %q", inv.Args[0])
		}
		switch {
		case f.stack == "" && f.endpoint != "":
			f.stack = "ours"
		case f.stack == "":
			f.stack = "kernel"
		case f.stack != "ours" && f.stack != "kernel":
			return usagef("--stack %q: want ours or kernel", f.stack)
		}
		if f.stack == "ours" && f.endpoint == "" {
			return usagef("--stack ours needs --endpoint (a program's debug endpoint)")
		}
		if f.watch < 0 || f.count < 0 {
			return usagef("--watch and --count must not be negative")
		}
		ctx := inv.Context()
		for n := 1; ; n++ {
			socks, err := statList(ctx, &f)
			if err != nil {
				return err
			}
			if f.watch > 0 && !f.json {
				fmt.Fprintf(stdout, "--- %s\n", time.Now().Format(time.RFC3339))
			}
			if f.json {
				if socks == nil {
					socks = []observe.Socket{}
				}
				if err := writeJSON(stdout, socks); err != nil {
					return err
				}
			} else if err := observe.Format(stdout, socks, observe.FormatOptions{Info: f.info}); err != nil {
				return err
			}
			if f.watch == 0 || (f.count > 0 && n >= f.count) {
				return nil
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(f.watch):
			}
		}

	}
}

// statList returns the sockets to show.
func statList(ctx context.Context, f *statFlags) ([]observe.Socket, error) {
	if f.stack == "kernel" {
		return sockdiag.List(sockdiag.Options{TCP: f.tcp, Listening: f.list})
	}
	if f.list {
		return nil, usagef("-l lists the kernel's listeners only")
	}
	var snap observe.Snapshot
	if err := getEndpoint(ctx, f.endpoint, observe.PathConns, &snap); err != nil {
		return nil, err
	}
	var out []observe.Socket
	for _, s := range snap.Sockets {
		if s.Netid == "mptcp" || f.tcp {
			out = append(out, s)
		}
	}
	return out, nil
}

// openEndpoint sends GET path to a debug endpoint and returns the
// response of an answer 200 OK; the caller closes its body.
func openEndpoint(ctx context.Context, endpoint, path string) (*http.Response, error) {
	c, base := observe.Client(endpoint)
	req, err := http.NewRequestWithContext(ctx, "GET", base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("debug endpoint %s: %w", endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("debug endpoint %s%s: %s", endpoint, path, resp.Status)
	}
	return resp, nil
}

// getEndpoint fetches path from a debug endpoint and decodes its JSON.
func getEndpoint(ctx context.Context, endpoint, path string, v any) error {
	resp, err := openEndpoint(ctx, endpoint, path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("debug endpoint %s%s: %w", endpoint, path, err)
	}
	return nil
}

// writeIndentedJSON writes v as indented JSON, as the commands' --json
// output is.
func writeIndentedJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeJSON writes v as one line of JSON.
func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}
