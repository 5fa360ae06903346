package drill

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/link"
	"github.com/mptcp-go/mptcp/pm"
)

// Status is the outcome of a script.
type Status string

// The outcomes.
const (
	Pass        Status = "pass"
	Fail        Status = "fail"        // the stack did not behave as the script says
	Unsupported Status = "unsupported" // the script uses something the runner does not support
	Error       Status = "error"       // the script cannot be read or is inconsistent
)

// Result is the outcome of running one script.
type Result struct {
	Script    string `json:"script"`
	Status    Status `json:"status"`
	Line      int    `json:"line,omitempty"`
	Statement string `json:"statement,omitempty"`
	Message   string `json:"message,omitempty"`
	// Expected and Actual are the packets side by side, in script syntax,
	// when a packet did not match.
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	// Events is how many events ran (all of them on a pass).
	Events int `json:"events"`
	// Notes list what the runner mapped loosely: sysctls without a
	// counterpart in this stack, packets left unmatched at the end.
	Notes []string `json:"notes,omitempty"`
}

// String formats the result as packetdrill prints it: nothing but the
// verdict on a pass, else the line, the message and the two packets.
func (r *Result) String() string {
	switch r.Status {
	case Pass:
		return fmt.Sprintf("%s: pass (%d events)", r.Script, r.Events)
	}
	s := fmt.Sprintf("%s:%d: %s: %s", r.Script, r.Line, r.Status, r.Message)
	if r.Statement != "" {
		s += "\n  script:   " + r.Statement
	}
	if r.Expected != "" || r.Actual != "" {
		s += fmt.Sprintf("\n  expected: %s\n  actual:   %s", r.Expected, r.Actual)
	}
	return s
}

// MarshalIndent returns the JSON form of results.
func MarshalIndent(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }

// Config configures a run. The zero value runs with packetdrill's
// defaults.
type Config struct {
	// Tolerance overrides the script's --tolerance_usecs when non-zero
	// (packetdrill's default is 4 ms).
	Tolerance time.Duration
	// Local and Remote are the stack's address and the script's
	// (packetdrill's --local_ip and --remote_ip: 192.168.0.1, 192.0.2.1).
	Local, Remote netip.Addr
	// Seed seeds the stack's randomness (keys, ISNs, nonces).
	Seed uint64
	// Trace, if set, receives every packet injected and sent, in script
	// syntax with the virtual time.
	Trace io.Writer
	// Stack, if set, adjusts the stack's configuration before the stack
	// is made (tests).
	Stack func(*core.Config)
}

// Defaults of packetdrill.
var (
	DefaultLocal  = netip.MustParseAddr("192.168.0.1")
	DefaultRemote = netip.MustParseAddr("192.0.2.1")
)

// The addresses of a script run with --ip_version=ipv6, unless Config
// names IPv6 ones: this runner's choice, in the documentation prefix
// (RFC 3849).
var (
	DefaultLocal6  = netip.MustParseAddr("2001:db8::1")
	DefaultRemote6 = netip.MustParseAddr("2001:db8:1::1")
)

const (
	defaultTolerance = 4 * time.Millisecond
	serverPort       = 8080  // the port packetdrill binds and connects to
	firstRemotePort  = 48000 // the script side's ephemeral ports
)

// mismatch is a failure of the stack against the script.
type mismatch struct {
	msg              string
	expected, actual string
}

func (m *mismatch) Error() string { return m.msg }

func failf(format string, a ...any) error { return &mismatch{msg: fmt.Sprintf(format, a...)} }

// scriptError is an inconsistent script (an unbound variable, a socket
// that does not exist).
type scriptError struct{ msg string }

func (e *scriptError) Error() string { return e.msg }

func scriptErrorf(format string, a ...any) error { return &scriptError{msg: fmt.Sprintf(format, a...)} }

// RunFile parses and runs one script.
func RunFile(path string, cfg Config) *Result {
	res := &Result{Script: path}
	s, err := ParseFile(path)
	if err != nil {
		return resultFromParse(res, err)
	}
	return Run(s, cfg)
}

func resultFromParse(res *Result, err error) *Result {
	var u *UnsupportedError
	var se *SyntaxError
	switch {
	case errors.As(err, &u):
		res.Status, res.Line, res.Message = Unsupported, u.Line, u.What
	case errors.As(err, &se):
		res.Status, res.Line, res.Message = Error, se.Line, "syntax: "+se.Err.Error()
	default:
		res.Status, res.Message = Error, err.Error()
	}
	return res
}

func asUnsupported(err error, u **UnsupportedError) bool { return errors.As(err, u) }

// Run runs a parsed script against a new stack.
func Run(s *Script, cfg Config) *Result {
	r := newRunner(s, cfg)
	res := &Result{Script: s.Path}
	if err := r.setOptions(); err != nil {
		res.Status, res.Message = Unsupported, err.Error()
		return res
	}
	for i, ev := range s.Events {
		r.line = ev.Line
		err := r.event(ev)
		if err == nil {
			res.Events = i + 1
			continue
		}
		res.Line, res.Statement = ev.Line, ev.Text
		var m *mismatch
		var se *scriptError
		switch {
		case errors.As(err, &m):
			res.Status, res.Message, res.Expected, res.Actual = Fail, m.msg, m.expected, m.actual
		case errors.Is(err, errUnsupported):
			res.Status, res.Message = Unsupported, err.Error()
		case errors.As(err, &se):
			res.Status, res.Message = Error, se.msg
		default:
			res.Status, res.Message = Error, err.Error()
		}
		res.Notes = r.notes
		return res
	}
	res.Status = Pass
	if n := len(r.out); n > 0 {
		r.note(fmt.Sprintf("%d packet(s) sent after the last expected one, not checked (as packetdrill)", n))
	}
	res.Notes = r.notes
	return res
}

// runner is the state of one run.
type runner struct {
	cfg    Config
	script *Script
	dir    string
	tol    time.Duration
	line   int

	start   time.Time
	now     time.Time
	scriptT time.Duration // the script time of the previous event
	wake    time.Time     // when the stack next wants to be polled
	guard   link.PollGuard

	stCfg     core.Config
	st        *core.Stack
	pending   []func(*core.Stack) error // commands run before the stack exists
	endpoints []pm.LocalAddr            // endpoints added before the stack exists
	limits    [2]int                    // subflows, add_addr_accepted; -1 unset
	pmName    string                    // --mptcp_pm; "" is the kernel's

	out   []sent // packets the stack sent and no statement matched yet
	socks map[int]*socket

	mp    mpState
	notes []string
}

type sent struct {
	at  time.Time
	pkt []byte
}

func newRunner(s *Script, cfg Config) *runner {
	if !cfg.Local.IsValid() {
		cfg.Local = DefaultLocal
	}
	if !cfg.Remote.IsValid() {
		cfg.Remote = DefaultRemote
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &runner{
		cfg: cfg, script: s, dir: filepath.Dir(s.Path), tol: defaultTolerance,
		start: start, now: start, socks: map[int]*socket{}, limits: [2]int{-1, -1},
	}
	// 8-octet DSNs as Linux sends them, which the scripts expect; the
	// stack's default 4-octet form is RFC 8684's other choice.
	r.stCfg = core.Config{Rand: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)), DSN64: true}
	r.mp.init(cfg.Local, cfg.Remote)
	return r
}

// useIPv6 runs the script over IPv6: the stack's and the script's
// addresses become IPv6 ones.
func (r *runner) useIPv6() {
	if !r.cfg.Local.Is6() {
		r.cfg.Local = DefaultLocal6
	}
	if !r.cfg.Remote.Is6() {
		r.cfg.Remote = DefaultRemote6
	}
	r.mp.init(r.cfg.Local, r.cfg.Remote)
}

func (r *runner) note(s string) {
	for _, n := range r.notes {
		if n == s {
			return
		}
	}
	r.notes = append(r.notes, s)
}

// setOptions applies the script's command-line options.
func (r *runner) setOptions() error {
	for k, v := range r.script.Options {
		switch k {
		case "tolerance_usecs":
			us, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("--tolerance_usecs=%q", v)
			}
			r.tol = time.Duration(us) * time.Microsecond
		case "mptcp_pm":
			// An extension of this runner: the path manager by name
			// (default "kernel", the in-kernel one the scripts assume).
			r.pmName = v
		case "ip_version":
			switch v {
			case "ipv4":
			case "ipv6":
				r.useIPv6()
			default:
				return unsupported("--ip_version=%s", v)
			}
		default:
			return unsupported("script option --%s", k)
		}
	}
	if r.cfg.Tolerance > 0 {
		r.tol = r.cfg.Tolerance
	}
	return nil
}

// stack returns the stack, making it on first use with the configuration
// the commands so far set.
func (r *runner) stack() (*core.Stack, error) {
	if r.st != nil {
		return r.st, nil
	}
	c := r.stCfg
	c.PathManager = "kernel"
	sub, acc := r.limits[0], r.limits[1]
	switch {
	case r.pmName != "" && r.pmName != "kernel":
		c.PathManager = r.pmName
		if sub >= 0 || acc >= 0 {
			c.Limits = pm.Limits{Subflows: max(sub, 0), AddAddrAccepted: max(acc, 0)}
		}
	case sub >= 0 || acc >= 0:
		c.PathManager = fmt.Sprintf("kernel:subflows=%d,add_addr_accepted=%d", max(sub, 2), max(acc, 0))
	}
	// The kernel's defaults where ours differ and the scripts see them:
	// the advertised window scale of a 15 MB tcp_rmem and a 6 MB send
	// buffer.
	if r.cfg.Stack != nil {
		r.cfg.Stack(&c)
	}
	st, err := core.NewStack(c)
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	// The local address is the host's, not an endpoint: like the kernel's,
	// the initial subflow's address has ID 0 and endpoints are numbered
	// from 1.
	if c.PathManager == "fullmesh" {
		// fullmesh uses the host's addresses as the MPTCP layer lists
		// them.
		st.AddAddress(r.cfg.Local)
	} else {
		st.TCP().AddAddress(r.cfg.Local)
	}
	r.st = st
	for _, f := range r.pending {
		if err := f(st); err != nil {
			return nil, err
		}
	}
	r.pending = nil
	for _, la := range r.endpoints {
		if _, err := st.AddEndpoint(la); err != nil {
			return nil, fmt.Errorf("endpoint %v: %w", la.Addr, err)
		}
	}
	r.endpoints = nil
	return st, nil
}

// event runs one statement at its time.
func (r *runner) event(ev *Event) error {
	t := ev.Time.At
	if ev.Time.Rel {
		t += r.scriptT
	}
	if ev.Time.Any {
		t = r.scriptT
	}
	r.scriptT = t
	at := r.start.Add(t)
	switch ev.Kind {
	case EventPacket:
		if ev.Packet.Out {
			return r.expect(ev, at)
		}
		r.advance(at)
		return r.inject(ev.Packet)
	case EventSyscall:
		if ev.Time.HasEnd {
			return unsupported("blocking system calls with an end time (...)")
		}
		r.advance(at)
		return r.syscall(ev.Call, at)
	case EventCommand:
		r.advance(at)
		return r.command(ev.Command)
	}
	return fmt.Errorf("unknown event")
}

// advance runs the stack's timers up to t.
func (r *runner) advance(t time.Time) {
	for r.st != nil && !r.wake.IsZero() && !r.wake.After(t) {
		w := r.wake
		if w.Before(r.now) {
			w = r.now
		}
		r.now = w
		r.poll()
	}
	if t.After(r.now) {
		r.now = t
	}
	r.poll()
}

// poll lets the stack send and records what it sends.
func (r *runner) poll() {
	if r.st == nil {
		return
	}
	next := r.st.Poll(r.now, func(p []byte) {
		r.out = append(r.out, sent{at: r.now, pkt: append([]byte(nil), p...)})
		r.trace(p)
	})
	// A stack that keeps asking for the present steps time on.
	r.wake = r.guard.Next(r.now, next)
}

// trace writes a sent packet to Config.Trace.
func (r *runner) trace(pkt []byte) {
	if r.cfg.Trace == nil {
		return
	}
	save := r.mp.cur
	p, err := r.peekOut(pkt)
	if err != nil {
		fmt.Fprintf(r.cfg.Trace, "%s > malformed: %v\n", r.rel(r.now), err)
		return
	}
	r.mp.cur = nil
	fmt.Fprintf(r.cfg.Trace, "%s %s\n", r.rel(r.now), r.formatOut(p))
	r.mp.cur = save
}

// deliver hands the stack a packet and lets it answer.
func (r *runner) deliver(pkt []byte) {
	if r.cfg.Trace != nil {
		fmt.Fprintf(r.cfg.Trace, "%s < %s line %d\n", r.rel(r.now), "injected", r.line)
	}
	r.st.Deliver(r.now, pkt)
	r.poll()
}

// waitFor advances time until cond holds or the tolerance past at runs out.
func (r *runner) waitFor(at time.Time, cond func() bool) bool {
	limit := at.Add(r.tol)
	for !cond() {
		if r.wake.IsZero() || r.wake.After(limit) {
			return false
		}
		r.advance(r.wake)
	}
	return true
}

// UpstreamDir returns the directory of the upstream packetdrill scripts:
// $MPTCP_PACKETDRILL, or ../shared/packetdrill beside the repository root
// found from the working directory; "" if there is none.
func UpstreamDir() string {
	if d := os.Getenv("MPTCP_PACKETDRILL"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	// The repository root is the nearest directory with go.mod; the
	// scripts are in shared/packetdrill beside it (or beside one of its
	// parents, for a worktree nested deeper).
	root := ""
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil && root == "" {
			root = d
		}
		if root != "" {
			p := filepath.Join(filepath.Dir(d), "shared", "packetdrill")
			if st, err := os.Stat(p); err == nil && st.IsDir() {
				return p
			}
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}
