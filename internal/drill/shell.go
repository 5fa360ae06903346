package drill

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/pm"
)

// command runs a `shell command` of a script: the commands upstream's
// scripts and their helpers (common/*.sh) run, mapped onto the stack.
func (r *runner) command(cmd string) error {
	cmd = strings.TrimSpace(cmd)
	fields := strings.Fields(cmd)
	if len(fields) == 1 && strings.HasSuffix(fields[0], ".sh") {
		return r.helper(fields[0])
	}
	return r.shellLine(cmd)
}

// helper runs one of upstream's helper scripts. defaults.sh and
// client.sh are plain lists of commands and run line by line; server.sh
// computes the next address with bash arithmetic, which is done here.
func (r *runner) helper(path string) error {
	if filepath.Base(path) == "server.sh" {
		// Add the local address plus one, announce it (signal), and
		// raise the limits, as common/server.sh does.
		next := r.cfg.Local.Next()
		if err := r.shellLine("ip mptcp endpoint flush"); err != nil {
			return err
		}
		if err := r.shellLine("ip addr add " + next.String() + "/16 dev tun0"); err != nil {
			return err
		}
		if err := r.shellLine("ip mptcp endpoint add " + next.String() + " signal"); err != nil {
			return err
		}
		return r.shellLine("ip mptcp limits set add_addr_accepted 8 subflows 8")
	}
	f, err := os.Open(filepath.Join(r.dir, path))
	if err != nil {
		return unsupported("command script %s: %v", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := r.shellLine(line); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return sc.Err()
}

// shellLine runs one command line.
func (r *runner) shellLine(line string) error {
	// Output redirections change nothing here.
	for _, red := range []string{"> /dev/null 2>&1", ">/dev/null 2>&1", "> /dev/null", "2>&1"} {
		line = strings.ReplaceAll(line, red, "")
	}
	line, err := expandArith(line)
	if err != nil {
		return err
	}
	f := shellWords(line)
	switch {
	case len(f) == 0:
		return nil
	case f[0] == "sysctl":
		return r.sysctl(f[1:])
	case len(f) >= 3 && f[0] == "ip" && f[1] == "mptcp" && f[2] == "endpoint":
		return r.endpoint(f[3:])
	case len(f) >= 3 && f[0] == "ip" && f[1] == "mptcp" && f[2] == "limits":
		return r.limitsCmd(f[3:])
	case len(f) >= 2 && f[0] == "ip" && f[1] == "tcp_metrics":
		// No cached metrics (fast open cookies) in a fresh virtual host.
		return nil
	case len(f) >= 4 && f[0] == "ip" && (f[1] == "addr" || f[1] == "address") && f[2] == "add":
		p, err := netip.ParsePrefix(f[3])
		if err != nil {
			return scriptErrorf("ip addr add %s: %v", f[3], err)
		}
		r.atStack(func(st *core.Stack) error { st.TCP().AddAddress(p.Addr()); return nil })
		return nil
	case f[0] == "tc":
		// Queueing disciplines on packetdrill's tun device: there is no
		// device between the runner and the stack.
		r.note("tc commands have no counterpart (no device between the script and the stack)")
		return nil
	}
	return unsupported("command %q", line)
}

// atStack runs f on the stack now, or when it is made.
func (r *runner) atStack(f func(*core.Stack) error) error {
	if r.st != nil {
		return f(r.st)
	}
	r.pending = append(r.pending, f)
	return nil
}

// sysctl applies "sysctl [-q] [-w] name=value ...".
func (r *runner) sysctl(args []string) error {
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			continue
		}
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return unsupported("sysctl read %s", a)
		}
		v = strings.Trim(v, `"'`)
		if err := r.setSysctl(k, v); err != nil {
			return err
		}
	}
	return nil
}

// ignoredSysctls have no counterpart in the stack, or set what the stack
// does already, and change nothing the upstream scripts check.
var ignoredSysctls = map[string]string{
	"net.ipv4.tcp_wmem":                  "buffer sizes: the stack's own",
	"net.ipv4.tcp_frto":                  "F-RTO",
	"net.ipv4.tcp_dsack":                 "D-SACK is on",
	"net.ipv4.tcp_fack":                  "FACK is off",
	"net.ipv4.tcp_reordering":            "the stack's reordering threshold is 3",
	"net.ipv4.tcp_slow_start_after_idle": "restart after idle",
	"net.ipv4.tcp_early_retrans":         "RACK/TLP are on",
	"net.ipv4.tcp_recovery":              "RACK is on",
	"net.ipv4.tcp_tso_win_divisor":       "no TSO deferral",
	"net.ipv4.tcp_ecn":                   "ECN is off",
	"net.ipv4.tcp_pacing_ss_ratio":       "pacing ratios",
	"net.ipv4.tcp_pacing_ca_ratio":       "pacing ratios",
	"net.ipv4.tcp_notsent_lowat":         "no TCP_NOTSENT_LOWAT",
	"net.ipv4.tcp_fastopen":              "no TCP Fast Open",
	"net.ipv4.tcp_fastopen_key":          "no TCP Fast Open",
	"net.ipv4.tcp_syncookies":            "SYN cookies only when the backlog is full",
}

func (r *runner) setSysctl(k, v string) error {
	if why, ok := ignoredSysctls[k]; ok {
		r.note(fmt.Sprintf("sysctl %s=%s: no counterpart (%s)", k, v, why))
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil && k != "net.ipv4.tcp_congestion_control" && k != "net.ipv4.tcp_rmem" {
		return unsupported("sysctl %s=%s", k, v)
	}
	c := &r.stCfg
	if r.st != nil {
		return unsupported("sysctl %s after the first socket", k)
	}
	switch k {
	case "net.ipv4.tcp_rmem":
		// "min default max": the maximum sets the window scale, as the
		// kernel derives it from tcp_rmem[2]; the default is the buffer
		// a connection starts with.
		f := strings.Fields(v)
		if len(f) != 3 {
			return unsupported("sysctl %s=%q", k, v)
		}
		def, err1 := strconv.Atoi(f[1])
		mx, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil || def > mx {
			return unsupported("sysctl %s=%q", k, v)
		}
		c.TCP.ReceiveBufferMax = mx
		c.ReceiveBufferMax = mx
		c.TCP.ReceiveBuffer = def
		c.ReceiveBuffer = def
	case "net.mptcp.enabled":
		c.DisableMPTCP = n == 0
	case "net.mptcp.checksum_enabled":
		c.Checksum = n != 0
	case "net.mptcp.allow_join_initial_addr_port":
		c.DenyJoinInitial = n == 0
	case "net.mptcp.add_addr_timeout":
		c.AddAddrTimeout = time.Duration(n) * time.Second
	case "net.ipv4.tcp_timestamps":
		c.TCP.DisableTimestamps = n == 0
	case "net.ipv4.tcp_sack":
		c.TCP.DisableSACK = n == 0
	case "net.ipv4.tcp_window_scaling":
		c.TCP.DisableWindowScale = n == 0
	case "net.ipv4.tcp_syn_retries":
		c.TCP.SYNRetries = n
	case "net.ipv4.tcp_synack_retries":
		c.TCP.SYNACKRetries = n
	case "net.ipv4.tcp_congestion_control":
		c.CongestionControl = v
	default:
		return unsupported("sysctl %s", k)
	}
	return nil
}

// endpoint runs "ip mptcp endpoint flush | add ADDR [id N] [port P] FLAGS".
func (r *runner) endpoint(args []string) error {
	if len(args) == 0 {
		return unsupported("ip mptcp endpoint")
	}
	switch args[0] {
	case "flush":
		if r.st != nil && len(r.st.Addresses()) > 0 {
			return unsupported("ip mptcp endpoint flush with endpoints on a running stack")
		}
		r.endpoints = nil
		return nil
	case "add":
	default:
		return unsupported("ip mptcp endpoint %s", args[0])
	}
	if len(args) < 2 {
		return scriptErrorf("ip mptcp endpoint add without an address")
	}
	a, err := netip.ParseAddr(args[1])
	if err != nil {
		return scriptErrorf("ip mptcp endpoint add %s: %v", args[1], err)
	}
	la := pm.LocalAddr{Addr: a}
	for i := 2; i < len(args); i++ {
		switch args[i] {
		case "signal":
			la.Signal = true
		case "subflow":
			la.Subflow = true
		case "backup":
			la.Backup = true
		case "fullmesh":
			la.Fullmesh = true
		case "id", "port":
			if i+1 >= len(args) {
				return scriptErrorf("ip mptcp endpoint add: %s without a value", args[i])
			}
			n, err := strconv.Atoi(args[i+1])
			if err != nil {
				return scriptErrorf("ip mptcp endpoint add: %s %s", args[i], args[i+1])
			}
			if args[i] == "id" {
				la.ID = uint8(n)
			} else {
				la.Port = uint16(n)
			}
			i++
		case "dev":
			i++
		default:
			return unsupported("endpoint flag %q", args[i])
		}
	}
	if r.st == nil {
		r.endpoints = append(r.endpoints, la)
		return nil
	}
	_, err = r.st.AddEndpoint(la)
	return err
}

// limitsCmd runs "ip mptcp limits set [subflows N] [add_addr_accepted N]".
func (r *runner) limitsCmd(args []string) error {
	if len(args) == 0 || args[0] != "set" {
		return unsupported("ip mptcp limits %s", strings.Join(args, " "))
	}
	if r.st != nil {
		return unsupported("ip mptcp limits after the first socket")
	}
	for i := 1; i+1 < len(args); i += 2 {
		n, err := strconv.Atoi(args[i+1])
		if err != nil {
			return scriptErrorf("ip mptcp limits: %s %s", args[i], args[i+1])
		}
		switch args[i] {
		case "subflows":
			r.limits[0] = n
		case "add_addr_accepted":
			r.limits[1] = n
		default:
			return unsupported("ip mptcp limits %s", args[i])
		}
	}
	return nil
}

// shellWords splits a command line into words as a shell does for the
// simple lines the helpers hold: blanks separate words, quotes group.
func shellWords(line string) []string {
	var out []string
	var w strings.Builder
	in, q := false, byte(0)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case q != 0 && c == q:
			q = 0
		case q != 0:
			w.WriteByte(c)
		case c == '"' || c == '\'':
			q, in = c, true
		case c == ' ' || c == '\t':
			if in {
				out = append(out, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteByte(c)
			in = true
		}
	}
	if in {
		out = append(out, w.String())
	}
	return out
}

// expandArith expands $((...)) of integer products and sums, as
// defaults.sh writes buffer sizes.
func expandArith(line string) (string, error) {
	for {
		i := strings.Index(line, "$((")
		if i < 0 {
			return line, nil
		}
		j := strings.Index(line[i:], "))")
		if j < 0 {
			return "", scriptErrorf("unterminated $(( in %q", line)
		}
		expr := line[i+3 : i+j]
		sum := 0
		for _, term := range strings.Split(expr, "+") {
			prod := 1
			for _, f := range strings.Split(term, "*") {
				n, err := strconv.Atoi(strings.TrimSpace(f))
				if err != nil {
					return "", unsupported("shell arithmetic %q", expr)
				}
				prod *= n
			}
			sum += prod
		}
		line = line[:i] + strconv.Itoa(sum) + line[i+j+2:]
	}
}
