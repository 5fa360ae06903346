//go:build linux

package torture

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/internal/tunhost"
	"github.com/mptcp-go/mptcp/link/tun"
)

// The live cases' network: lab's Router topology with two paths (client,
// router, server: namespaces named with "vtort"), and an attacker
// namespace joined to the router by a veth pair. The router mirrors
// everything that crosses path 1's client link to the attacker (tc
// mirred), which is the attacker's tap; what the attacker sends is routed
// to the servers like any packet, with whatever source it forges. The
// router routes blackholePrefix to the attacker, whose kernel drops it
// (it does not forward), so answers to forged sources vanish.
const (
	ourPort    = 5201 // our stack's server
	kernelPort = 5202 // the kernel's server
	ourTUN     = "vtort0"
	// flowBytes is what each client sends, and gets back, per round.
	flowBytes = 1 << 20
	// flowChunk and flowPace pace the writes, so the transfers last
	// about two seconds and the attack meets them.
	flowChunk = 32 << 10
	flowPace  = 60 * time.Millisecond
	// roundLimit bounds a round (unless the case says otherwise): a
	// transfer not done by then is stuck.
	roundLimit = 25 * time.Second
	// targetWait bounds how long an on-path attack waits to see the
	// connections it attacks.
	targetWait = 5 * time.Second
)

var (
	attackerAddr    = netip.MustParseAddr("10.99.0.2")
	attackerGateway = netip.MustParseAddr("10.99.0.1")
	blackholePrefix = netip.MustParsePrefix("10.98.0.0/16")
)

// LiveAvailable reports why the live cases cannot run here, or nil: they
// need root, iproute2's tools, and the TUN device.
func LiveAvailable() error { return lab.Available() }

// liveEnv is the network a worker builds once for a chunk of rounds.
type liveEnv struct {
	tp     *lab.Topology
	atkNS  lab.Netns
	client *tunhost.Host // our stack as a client
	atk    *attacker
	server ServerLauncher
}

// runLive runs the rounds (seeds) of a live case on one network.
func runLive(c *Case, seeds []uint64, server ServerLauncher, emit func(Record) error) error {
	if server == nil {
		return errors.New("torture: a live case needs a server launcher")
	}
	e, err := newLiveEnv(server)
	if err != nil {
		return err
	}
	defer e.close()
	for _, s := range seeds {
		if err := emit(e.round(c, s)); err != nil {
			return err
		}
	}
	return nil
}

func newLiveEnv(server ServerLauncher) (e *liveEnv, err error) {
	tp, err := lab.Build(lab.Config{Paths: 2, Middle: lab.Router, Name: "vtort"})
	if err != nil {
		return nil, err
	}
	e = &liveEnv{tp: tp, server: server}
	defer func() {
		if err != nil {
			e.close()
			e = nil
		}
	}()
	if e.atkNS, err = lab.NewNetns("vtort-a"); err != nil {
		return
	}
	r := tp.Middle
	if err = r.IP("link add va type veth peer name vb netns "+e.atkNS.Name(),
		"addr add "+attackerGateway.String()+"/24 dev va", "link set va up",
		"route add "+blackholePrefix.String()+" via "+attackerAddr.String()); err != nil {
		return
	}
	if err = e.atkNS.IP("addr add "+attackerAddr.String()+"/24 dev vb", "link set vb up",
		"route add default via "+attackerGateway.String()); err != nil {
		return
	}
	tap := tp.Paths[0].MiddleClientIf
	for _, dir := range []string{"ingress", "egress"} {
		if err = e.tc(r, "filter", "add", "dev", tap, dir, "protocol", "all", "u32", "match", "u32", "0", "0",
			"action", "mirred", "egress", "mirror", "dev", "va"); err != nil {
			return
		}
	}
	if err = e.kernelMPTCP(); err != nil {
		return
	}
	ifc, err := tp.StackInterface(tp.Client, ourTUN, 1, 2)
	if err != nil {
		return
	}
	if e.client, err = tunhost.New(tunhost.Config{Addrs: []netip.Addr{tp.Paths[0].ClientStack.V4, tp.Paths[1].ClientStack.V4},
		Interfaces: []tun.Interface{ifc}}); err != nil {
		return
	}
	e.atk, err = newAttacker(e.atkNS, "vb", netip.AddrPortFrom(tp.Paths[0].ServerStack.V4, ourPort),
		netip.AddrPortFrom(tp.Paths[0].Server.V4, kernelPort))
	return
}

// tc runs tc in namespace n, adding the clsact qdisc a filter needs first.
func (e *liveEnv) tc(n lab.Netns, args ...string) error {
	if args[0] == "filter" {
		if _, err := n.Exec("tc", "qdisc", "replace", "dev", args[3], "clsact"); err != nil {
			return err
		}
	}
	_, err := n.Exec(append([]string{"tc"}, args...)...)
	return err
}

// kernelMPTCP lets the kernel's connections use both paths: the client
// joins from path 2's address, the server accepts two more subflows.
func (e *liveEnv) kernelMPTCP() error {
	p2 := e.tp.Paths[1]
	for _, n := range []lab.Netns{e.tp.Client, e.tp.Server} {
		if err := n.MPTCPLimits(2, 2); err != nil {
			return err
		}
	}
	if err := e.tp.Client.AddMPTCPEndpoint(lab.Endpoint{Addr: p2.Client.V4, Dev: p2.ClientIf, Flags: []string{"subflow"}}); err != nil {
		return err
	}
	// Our server's TUN device is made by its process, round by round;
	// the server namespace forwards between it and the paths.
	return e.tp.Server.Sysctl("net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
}

func (e *liveEnv) close() {
	if e.atk != nil {
		e.atk.close()
	}
	if e.client != nil {
		e.client.Close()
	}
	if e.atkNS != "" {
		_ = e.atkNS.Delete()
	}
	_ = e.tp.Close()
}

// flowSpec is one client of a round: which stack dials which server.
type flowSpec struct {
	name      string
	ourClient bool
	dst       netip.AddrPort
}

func (e *liveEnv) flows() []flowSpec {
	ours := netip.AddrPortFrom(e.tp.Paths[0].ServerStack.V4, ourPort)
	kern := netip.AddrPortFrom(e.tp.Paths[0].Server.V4, kernelPort)
	return []flowSpec{
		{"kernel->ours", false, ours},
		{"ours->ours", true, ours},
		{"kernel->kernel", false, kern},
		{"ours->kernel", true, kern},
	}
}

// flowResult is how one client's transfer ended.
type flowResult struct {
	name     string
	outcome  Outcome
	detail   string
	fallback bool // the connection was plain TCP
}

// round runs one round: a fresh server process, the clients, the attack.
func (e *liveEnv) round(c *Case, seed uint64) Record {
	rec := Record{Case: c.Name, Seed: seed, Outcome: Stuck}
	srv, err := e.startServer()
	if err != nil {
		rec.Detail = err.Error()
		return rec
	}
	kBefore, kerr := e.tp.Server.Nstat()
	limit := roundLimit
	if c.Live.Limit > 0 {
		limit = c.Live.Limit
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	e.atk.reset(seed, c.Live.Target)
	atkDone := make(chan error, 1)
	var targets atomic.Uint64
	fire := func() { atkDone <- e.atk.run(c.Live) }
	if c.Live.Blind {
		go fire()
		time.Sleep(200 * time.Millisecond)
	} else {
		go func() {
			want := 2 // a kernel client and ours, to each server
			if c.Live.Target == "" {
				want = 4
			}
			// A capture may miss a connection's handshake (the tap is a
			// copy, and copies get lost under load): the attack goes at
			// those it could follow.
			seen := e.atk.waitTargets(ctx, want, targetWait)
			targets.Store(uint64(seen))
			if seen == 0 {
				atkDone <- errors.New("the attacker saw no connection to attack")
				return
			}
			fire()
		}()
	}
	specs := e.flows()
	res := make(chan flowResult, len(specs))
	for i, f := range specs {
		go func() { res <- e.transfer(ctx, f, seed, i) }()
	}
	var got []flowResult
	for range specs {
		got = append(got, <-res)
	}
	var atkErr error
	select {
	case atkErr = <-atkDone: // bounded in count and rate, it ends
	case <-time.After(targetWait + 10*time.Second):
		atkErr = errors.New("the attack did not end")
	}
	report, rss, serr := srv.stop()
	rec.RSS = rss
	rec.Outcome, rec.Detail = judge(got, serr, atkErr)
	rec.Counters = map[string]uint64{"attacker:sent": e.atk.sentCount()}
	if !c.Live.Blind {
		rec.Counters["attacker:connections"] = targets.Load()
	}
	for _, f := range got {
		if f.fallback {
			rec.Counters["clients:plain-tcp"]++
		}
	}
	var kAfter map[string]uint64
	if kerr == nil {
		kAfter, kerr = e.tp.Server.Nstat()
	}
	for _, name := range c.Live.Counters {
		side, n, _ := strings.Cut(name, ":")
		switch {
		case side == "ours" && report != nil:
			rec.Counters[name] = report.get(n)
		case side == "kernel" && kerr == nil:
			rec.Counters[name] = kAfter[n] - kBefore[n]
		}
	}
	return rec
}

// judge sums up a round: the worst of its transfers, and a failure of the
// server process or of the attacker.
func judge(fs []flowResult, serverErr, atkErr error) (Outcome, string) {
	rank := map[Outcome]int{Completed: 0, Ended: 1, Stuck: 2, Corrupted: 3}
	o := Completed
	var parts []string
	for _, f := range fs {
		if rank[f.outcome] > rank[o] {
			o = f.outcome
		}
		if f.outcome != Completed {
			parts = append(parts, f.name+": "+string(f.outcome)+": "+f.detail)
		}
	}
	if serverErr != nil {
		if o != Corrupted {
			o = Stuck
		}
		parts = append(parts, "server process: "+serverErr.Error())
	}
	if atkErr != nil {
		// A round whose attack did not happen proves nothing.
		if o != Corrupted {
			o = Stuck
		}
		parts = append(parts, "attacker: "+atkErr.Error())
	}
	return o, strings.Join(parts, "; ")
}

// dial opens the flow's connection from the client namespace: our stack's
// or a kernel MPTCP socket from path 1's address.
func (e *liveEnv) dial(ctx context.Context, f flowSpec) (net.Conn, error) {
	if f.ourClient {
		return e.client.Stack.DialContext(ctx, "tcp", f.dst.String())
	}
	var c net.Conn
	err := e.tp.Client.Do(func() error {
		d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(e.tp.Paths[0].Client.V4, 0))}
		d.SetMultipathTCP(true)
		var err error
		c, err = d.DialContext(ctx, "tcp", f.dst.String())
		return err
	})
	return c, err
}

// transfer sends flowBytes of the round's stream on a new connection and
// checks that the server's echo of it comes back intact, then EOF.
func (e *liveEnv) transfer(ctx context.Context, f flowSpec, seed uint64, i int) flowResult {
	r := flowResult{name: f.name}
	c, err := e.dial(ctx, f)
	if err != nil {
		r.outcome, r.detail = failure("dial", err)
		return r
	}
	defer c.Close()
	if mp, ok := c.(interface{ MultipathTCP() (bool, error) }); ok {
		if on, err := mp.MultipathTCP(); err == nil && !on {
			r.fallback = true
		}
	}
	deadline, _ := ctx.Deadline()
	_ = c.SetDeadline(deadline)
	werr := make(chan error, 1)
	go func() { werr <- writeStream(ctx, c, seed, i) }()
	n, err := checkStream(c, seed, i)
	switch {
	case errors.Is(err, errMismatch):
		r.outcome, r.detail = Corrupted, fmt.Sprintf("byte %d of the echo differs", n)
	case err != nil:
		r.outcome, r.detail = failure(fmt.Sprintf("read after %d bytes", n), err)
	case n != flowBytes:
		r.outcome, r.detail = Ended, fmt.Sprintf("EOF after %d of %d bytes", n, flowBytes)
	default:
		r.outcome = Completed
	}
	if err := <-werr; err != nil && r.outcome == Completed {
		r.outcome, r.detail = failure("write", err)
	}
	return r
}

// failure classifies an error: a deadline is stuck, anything else (a
// reset, a refusal) an orderly end.
func failure(what string, err error) (Outcome, string) {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return Stuck, what + ": " + err.Error()
	}
	return Ended, what + ": " + err.Error()
}

var errMismatch = errors.New("the echo differs from what was sent")

// stream returns the bytes flow i of a round sends.
func stream(seed uint64, i int) io.Reader {
	var s [32]byte
	for k := range 8 {
		s[k] = byte(seed >> (8 * k))
	}
	s[8] = byte(i)
	return rand.NewChaCha8(s)
}

// writeStream writes the flow's stream, paced, then closes its half.
func writeStream(ctx context.Context, c net.Conn, seed uint64, i int) error {
	src := stream(seed, i)
	buf := make([]byte, flowChunk)
	t := time.NewTicker(flowPace)
	defer t.Stop()
	for sent := 0; sent < flowBytes; sent += len(buf) {
		buf = buf[:min(flowChunk, flowBytes-sent)]
		_, _ = io.ReadFull(src, buf)
		if _, err := c.Write(buf); err != nil {
			return err
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// checkStream reads the echo until EOF and compares it with the stream.
func checkStream(c net.Conn, seed uint64, i int) (int, error) {
	want := stream(seed, i)
	got := make([]byte, 64<<10)
	exp := make([]byte, len(got))
	n := 0
	for {
		k, err := c.Read(got)
		if k > 0 {
			if n+k > flowBytes {
				return n, fmt.Errorf("%w: %d bytes more than were sent", errMismatch, n+k-flowBytes)
			}
			_, _ = io.ReadFull(want, exp[:k])
			for j := range k {
				if got[j] != exp[j] {
					return n + j, errMismatch
				}
			}
			n += k
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// serverProc is a running server process.
type serverProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// liveReport is what a server process reports when it stops.
type liveReport struct {
	MIB map[string]uint64 `json:"mib"`
	TCP map[string]uint64 `json:"tcp"`
}

func (r *liveReport) get(name string) uint64 {
	if v, ok := r.MIB[name]; ok {
		return v
	}
	return r.TCP[name]
}

// startServer starts a server process in the server namespace and waits
// until it listens.
func (e *liveEnv) startServer() (*serverProc, error) {
	p1, p2 := e.tp.Paths[0], e.tp.Paths[1]
	cmd := e.server(fmt.Sprintf("%s=%s,%s", e.tp.Server.Name(), p1.ServerStack.V4, p2.ServerStack.V4))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the server process: %w", err)
	}
	s := &serverProc{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	ready := make(chan error, 1)
	go func() {
		line, err := s.out.ReadString('\n')
		if err == nil && strings.TrimSpace(line) != "ready" {
			err = fmt.Errorf("said %q", strings.TrimSpace(line))
		}
		ready <- err
	}()
	select {
	case err = <-ready:
	case <-time.After(10 * time.Second):
		err = errors.New("not ready within 10 s")
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("server process: %w", err)
	}
	return s, nil
}

// stop asks the server process for its counters and to exit, and returns
// them with its peak RSS; an error says the process crashed or hung.
func (s *serverProc) stop() (*liveReport, uint64, error) {
	s.stdin.Close()
	got := make(chan *liveReport, 1)
	go func() {
		var r liveReport
		if json.NewDecoder(s.out).Decode(&r) != nil {
			got <- nil
			return
		}
		got <- &r
	}()
	var rep *liveReport
	select {
	case rep = <-got:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
	}
	err := s.cmd.Wait()
	rss := peakRSS(s.cmd.ProcessState)
	if err == nil && rep == nil {
		err = errors.New("no counters reported")
	}
	return rep, rss, err
}
