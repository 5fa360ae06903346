// Package simrun runs a scenario in the simulator with the real stack and
// measures it: the engine behind `mptcp sim`, and the simulator's
// prediction beside the emulator's figures.
//
// A run is deterministic: the stacks take their randomness from the
// simulator's seeded streams and the applications are callbacks on the
// simulator's goroutine, so the same scenario and seed give the same
// packets, the same capture bytes and the same Result.
package simrun

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/observe"
	"github.com/mptcp-go/mptcp/pcap"
	"github.com/mptcp-go/mptcp/scenario"
)

// Port is the server port of the transfer (iperf3's).
const Port = 5201

// Options adjust a run without editing its scenario.
type Options struct {
	// Seed and Duration, when non-zero, replace the scenario's.
	Seed     uint64
	Duration time.Duration
	// Scheduler, CC and PM, when non-empty, replace the scenario's.
	Scheduler, CC, PM string
	// Pcap, if set, receives a capture of every packet the client and the
	// competitors send and receive.
	Pcap io.Writer
	// Interval is the reporting interval (default 1 s).
	Interval time.Duration
	// OnInterval, if set, is called with each interval as it completes,
	// for progress output.
	OnInterval func(Interval)
	// Stack, if set, adjusts the MPTCP stacks' configuration (the
	// torture campaign shrinks buffers with it).
	Stack func(*core.Config)
	// Trace, if set, receives the JSON-lines trace (observe.Tracer) of
	// the MPTCP connection as its data sender sees it (the client for an
	// upload, the server otherwise), sampled every TraceInterval
	// (default 100 ms) of virtual time.
	Trace         io.Writer
	TraceInterval time.Duration
}

// chunk is the most the applications write or read at once.
const chunk = 64 << 10

// Run executes the scenario and returns what it measured. An error means
// the run could not be set up (a bad policy name, for example), not that
// the transfer went badly: that is in the Result.
func Run(sc *scenario.Scenario, o Options) (*Result, error) {
	if err := sc.Simulable(); err != nil {
		return nil, err
	}
	sc2, err := withPolicies(sc, o.Scheduler, o.CC, o.PM)
	if err != nil {
		return nil, err
	}
	if o.Seed != 0 {
		sc2.Seed = o.Seed
	}
	if o.Duration != 0 {
		sc2.Duration = o.Duration
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if err := CheckInterval(sc2.Duration-sc2.Transfer.Start, o.Interval); err != nil {
		return nil, err
	}
	r := &run{sc: sc2, opts: o, pat: newPattern(sc2.Seed)}
	if err := r.setup(); err != nil {
		return nil, err
	}
	r.sim.RunUntil(epoch(sc2.Duration))
	if err := r.sim.Err(); err != nil {
		return nil, fmt.Errorf("simulation stopped: %w", err)
	}
	r.stopSampling()
	if err := r.endTrace(); err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	if err := r.sim.CaptureErr(); err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	return r.result(), nil
}

// run is one execution of a scenario.
type run struct {
	sc   *scenario.Scenario
	opts Options
	pat  pattern
	sim  *netsim.Sim
	top  *scenario.Topology

	client, server *core.Stack
	tracer         *observe.Tracer
	flows          []*flow // the MPTCP connection's directions
	competitors    []*flow
	scratch        []byte
	intervals      []Interval
	lastSample     time.Duration  // when the last interval ended
	intervalTick   *netsim.Timer  // closes each interval
	cwndTick       *netsim.Timer  // samples congestion windows
	lastSub        map[int]uint64 // receiver-side bytes per subflow at the last interval
	lastComp       []int64
	lastTotal      int64
	subflows       map[int]*SubflowResult // Bytes: the latest count read
	subOrder       []int
	cwnd           map[int][]CwndPoint // by subflow key
	compNames      []string
	compCC         []string  // the competitors' congestion controls, as run
	cfgNames       [3]string // scheduler, cc, pm actually used
	err            error
}

// flow is one direction of one connection: a sender application writing
// the pattern and a receiver application verifying it.
type flow struct {
	r          *run
	name       string
	size       int64 // 0: unlimited
	sendHost   *netsim.Host
	recvHost   *netsim.Host
	snd, rcv   *core.Conn
	sent       int64
	got        int64
	ok         bool
	eof        bool
	finished   time.Duration // when the receiver saw EOF
	started    time.Duration
	firstByte  bool
	lastByte   time.Duration
	maxStall   time.Duration
	recvIsClnt bool // the client receives (download)
}

func (r *run) setup() error {
	r.sim = netsim.New(r.sc.Seed)
	top, err := r.sc.Build(r.sim)
	if err != nil {
		return err
	}
	r.top = top
	r.scratch = make([]byte, chunk)
	r.lastSub = map[int]uint64{}
	r.subflows = map[int]*SubflowResult{}
	r.cwnd = map[int][]CwndPoint{}
	if r.opts.Pcap != nil {
		hosts := []*netsim.Host{top.Client}
		for _, c := range top.Competitors {
			hosts = append(hosts, c.Host)
		}
		if err := capture(r.opts.Pcap, hosts...); err != nil {
			return err
		}
	}
	cfg := core.Config{Scheduler: r.sc.Scheduler, CongestionControl: r.sc.CC, PathManager: r.sc.PM}
	if r.opts.Stack != nil {
		r.opts.Stack(&cfg)
	}
	clientCfg, serverCfg := r.traceConfigs(cfg)
	if r.client, err = newStackOn(top.Client, clientCfg, top.ClientAddrs...); err != nil {
		return err
	}
	c := r.client.Config()
	r.cfgNames = [3]string{c.Scheduler, c.CongestionControl, c.PathManager}
	if r.server, err = stackOn(top.Server, serverCfg, top.ServerAddr); err != nil {
		return err
	}
	srvStacks := newDemux(r.server)
	ln, err := r.server.Listen(netip.AddrPortFrom(top.ServerAddr, Port))
	if err != nil {
		return fmt.Errorf("server listen: %w", err)
	}
	ln.SetNotify(func() { r.accept(ln) })

	dir := r.sc.Transfer.Direction
	if dir == scenario.Download || dir == scenario.Both {
		r.flows = append(r.flows, &flow{r: r, name: "download", size: r.sc.Transfer.Size, sendHost: top.Server, recvHost: top.Client, ok: true, recvIsClnt: true})
	}
	if dir == scenario.Upload || dir == scenario.Both {
		r.flows = append(r.flows, &flow{r: r, name: "upload", size: r.sc.Transfer.Size, sendHost: top.Client, recvHost: top.Server, ok: true})
	}
	start := epoch(r.sc.Transfer.Start)
	r.sim.Schedule(start, func() { r.dialMPTCP() })

	for i, comp := range r.sc.Competitors {
		node := top.Competitors[i]
		r.competitors = append(r.competitors, &flow{r: r, name: comp.Name, sendHost: top.Server, recvHost: node.Host, ok: true, recvIsClnt: true})
		r.compNames = append(r.compNames, comp.Name)
	}
	if r.compCC, err = startCompetitors(r.sim, r.sc, top, srvStacks, start, r.competitorEnds, r.fail); err != nil {
		return err
	}
	top.Server.SetStack(srvStacks)
	r.lastComp = make([]int64, len(r.competitors))
	r.startSampling()
	r.startTrace(start)
	return nil
}

// stackOn makes a stack with h's addresses addrs, its randomness from
// h's seeded stream; the caller sets it on h (the server's stacks share
// the host through a demux).
func stackOn(h *netsim.Host, cfg core.Config, addrs ...netip.Addr) (*core.Stack, error) {
	cfg.Rand = h.Rand()
	st, err := core.NewStack(cfg)
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		st.AddAddress(a)
	}
	return st, nil
}

// newStackOn makes a stack with stackOn and sets it on h.
func newStackOn(h *netsim.Host, cfg core.Config, addrs ...netip.Addr) (*core.Stack, error) {
	st, err := stackOn(h, cfg, addrs...)
	if err == nil {
		h.SetStack(st)
	}
	return st, err
}

// withPolicies returns a copy of sc whose scheduler, congestion control
// and path manager are replaced by the names given (empty: the
// scenario's), once the resulting names, and its competitors' congestion
// controls, are checked.
func withPolicies(sc *scenario.Scenario, scheduler, ccName, pmName string) (*scenario.Scenario, error) {
	sc2 := *sc
	for _, p := range []struct {
		dst *string
		v   string
	}{{&sc2.Scheduler, scheduler}, {&sc2.CC, ccName}, {&sc2.PM, pmName}} {
		if p.v != "" {
			*p.dst = p.v
		}
	}
	if err := checkPolicies("", sc2.Scheduler, sc2.CC, sc2.PM); err != nil {
		return nil, err
	}
	for i, c := range sc2.Competitors {
		if err := checkPolicies(fmt.Sprintf("competitors[%d].", i), "", c.CC, ""); err != nil {
			return nil, err
		}
	}
	return &sc2, nil
}

// capture records every packet of hosts' interfaces to out as pcap.
func capture(out io.Writer, hosts ...*netsim.Host) error {
	w, err := pcap.NewWriter(out)
	if err != nil {
		return err
	}
	for _, h := range hosts {
		for _, ifc := range h.Interfaces() {
			ifc.Capture(w)
		}
	}
	return nil
}

func (r *run) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// dialMPTCP opens the MPTCP connection from the first path's address.
func (r *run) dialMPTCP() {
	c, err := r.client.Dial(r.sim.Now(), r.top.ClientAddrs[0], netip.AddrPortFrom(r.top.ServerAddr, Port), core.ConnOptions{Backup: r.sc.Paths[0].Backup})
	if err != nil {
		r.fail(fmt.Errorf("dial: %w", err))
		return
	}
	for _, f := range r.flows {
		if f.recvIsClnt {
			f.attachRecv(c)
		} else {
			f.attachSend(c)
		}
	}
	r.setNotify(c)
	r.top.Client.Wake()
}

// competitorEnds hands a competitor's connection to its flow
// (startCompetitors).
func (r *run) competitorEnds(i int, c *core.Conn, send bool) func() {
	f := r.competitors[i]
	if send {
		f.attachSend(c)
	} else {
		f.attachRecv(c)
	}
	return f.pump
}

// accept takes the MPTCP server's new connections: the client's, whose
// flows the server sends or receives (competitors have servers of their
// own).
func (r *run) accept(ln *core.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if !errors.Is(err, core.ErrWouldBlock) {
				r.fail(fmt.Errorf("accept: %w", err))
			}
			return
		}
		for _, f := range r.flows {
			if f.recvIsClnt {
				f.attachSend(c)
			} else {
				f.attachRecv(c)
			}
		}
		r.setNotify(c)
		r.top.Server.Wake()
	}
}

// setNotify pumps every flow using c when the stack says c changed.
func (r *run) setNotify(c *core.Conn) {
	c.SetNotify(func() {
		for _, f := range r.flows {
			if f.snd == c || f.rcv == c {
				f.pump()
			}
		}
	})
}

func (f *flow) attachSend(c *core.Conn) {
	f.snd = c
	f.started = f.r.sim.Elapsed()
	f.pump()
}

func (f *flow) attachRecv(c *core.Conn) {
	f.rcv = c
	if f.snd == nil {
		f.started = f.r.sim.Elapsed()
	}
}

// pump moves the flow's data: the sender writes what the send buffer
// takes, the receiver reads and verifies what has arrived.
func (f *flow) pump() {
	r := f.r
	if f.snd != nil && (f.size == 0 || f.sent < f.size) {
		wrote := false
		for f.size == 0 || f.sent < f.size {
			n := chunk
			if f.size > 0 && f.size-f.sent < int64(n) {
				n = int(f.size - f.sent)
			}
			w, err := f.snd.Write(r.pat.at(uint64(f.sent), n))
			f.sent += int64(w)
			if w > 0 {
				wrote = true
			}
			if err != nil || w < n {
				break
			}
		}
		if f.size > 0 && f.sent >= f.size {
			_ = f.snd.CloseWrite()
			wrote = true
		}
		if wrote {
			f.sendHost.Wake()
		}
	}
	if f.rcv != nil && !f.eof {
		buf := r.scratch[:chunk]
		for {
			n, err := f.rcv.Read(buf)
			if n > 0 {
				now := r.sim.Elapsed()
				if f.firstByte {
					f.maxStall = max(f.maxStall, now-f.lastByte)
				}
				f.firstByte, f.lastByte = true, now
				if !r.pat.check(buf[:n], uint64(f.got)) || (f.size > 0 && f.got+int64(n) > f.size) {
					f.ok = false
				}
				f.got += int64(n)
				f.recvHost.Wake()
				continue
			}
			if err == io.EOF {
				f.eof = true
				f.finished = r.sim.Elapsed()
				if f.size > 0 && f.got != f.size {
					f.ok = false
				}
				r.flowEnded(f)
				if !f.r.stillSending(f.rcv) {
					// With both directions on one connection, the
					// other may still be writing: its CloseWrite ends
					// the connection then.
					_ = f.rcv.Close()
				}
				f.recvHost.Wake()
			}
			break
		}
	}
}

// stillSending reports whether a flow still has bytes to write on c.
func (r *run) stillSending(c *core.Conn) bool {
	for _, g := range r.flows {
		if g.snd == c && (g.size == 0 || g.sent < g.size) {
			return true
		}
	}
	return false
}

// pathName is the scenario's name of the path with client address a (the
// address itself for any other).
func pathName(sc *scenario.Scenario, top *scenario.Topology, a netip.Addr) string {
	for i, ca := range top.ClientAddrs {
		if ca == a {
			return sc.Paths[i].Name
		}
	}
	return a.String()
}

func (r *run) result() *Result {
	res := &Result{
		Scenario: r.sc.Name, Seed: r.sc.Seed, DurationS: r.sc.Duration.Seconds(),
		Direction: string(r.sc.Transfer.Direction),
		Scheduler: r.cfgNames[0], CC: r.cfgNames[1], PM: r.cfgNames[2],
		IntegrityOK: true, Intervals: r.intervals,
		MIB: map[string]map[string]uint64{"client": nonZero(r.client.MIB()), "server": nonZero(r.server.MIB())},
	}
	if r.err != nil {
		res.Error = r.err.Error()
	}
	if res.Intervals == nil {
		res.Intervals = []Interval{}
	}
	end := r.sc.Duration
	var active time.Duration
	completed := len(r.flows) > 0 && r.sc.Transfer.Size > 0
	for _, f := range r.flows {
		res.BytesDelivered += f.got
		res.TransferBytes += f.size
		res.IntegrityOK = res.IntegrityOK && f.ok
		stop := end
		if f.eof {
			stop = f.finished
			res.CompletionS = max(res.CompletionS, (f.finished - f.started).Seconds())
		} else {
			completed = false
		}
		active = max(active, stop-r.sc.Transfer.Start)
		stall := f.maxStall
		if f.firstByte && !f.eof {
			stall = max(stall, end-f.lastByte)
		}
		res.MaxStallMs = max(res.MaxStallMs, float64(stall)/float64(time.Millisecond))
		if !f.firstByte {
			res.MaxStallMs = max(res.MaxStallMs, float64(end-f.started)/float64(time.Millisecond))
		}
	}
	res.Completed = completed
	if !completed {
		res.CompletionS = 0
	}
	if active > 0 {
		res.GoodputBps = float64(res.BytesDelivered) * 8 / active.Seconds()
	}
	// Capacity over the time the goodput is measured over.
	from, to := r.sc.Transfer.Start, r.sc.Transfer.Start+active
	res.CapacityBps = r.sc.CapacityOver(r.sc.Transfer.Direction, from, to)
	if r.sc.Transfer.Direction == scenario.Both {
		res.CapacityBps += r.sc.CapacityOver(scenario.Upload, from, to)
	}
	if res.CapacityBps > 0 {
		res.Utilisation = res.GoodputBps / float64(res.CapacityBps)
	}
	for _, f := range r.flows {
		for _, c := range []*core.Conn{f.snd, f.rcv} {
			if c != nil && c.FellBack() {
				res.FellBack = true
				res.FallbackReason = c.Info().FallbackReason
			}
		}
	}
	slices.Sort(r.subOrder) // the order subflows were opened in
	for _, k := range r.subOrder {
		sr := *r.subflows[k]
		sr.Cwnd = r.cwnd[k]
		res.Subflows = append(res.Subflows, sr)
	}
	if res.Subflows == nil {
		res.Subflows = []SubflowResult{}
	}
	for _, p := range r.sc.Paths {
		for _, o := range p.Outages(end) {
			res.Outages = append(res.Outages, Outage{Path: p.Name, FromS: o.From.Seconds(), ToS: o.To.Seconds()})
		}
	}
	if len(r.competitors) > 0 {
		var sum float64
		for i, c := range r.competitors {
			g := float64(c.got) * 8 / (end - r.sc.Transfer.Start).Seconds()
			sum += g
			res.Competitors = append(res.Competitors, CompetitorResult{Name: c.name, CC: r.compCC[i], BytesDelivered: c.got, GoodputBps: g, IntegrityOK: c.ok})
			res.IntegrityOK = res.IntegrityOK && c.ok
		}
		mean := sum / float64(len(r.competitors))
		res.TCPGoodputBps = &mean
		if mean > 0 {
			ratio := res.GoodputBps / mean
			res.MPTCPToTCPRatio = &ratio
		}
	}
	return res
}

func nonZero(m core.MIBSnapshot) map[string]uint64 {
	out := map[string]uint64{}
	for _, c := range core.Counters() {
		if v := m.Get(c); v != 0 {
			out[c.String()] = v
		}
	}
	return out
}

// epoch is the virtual time d into the run.
func epoch(d time.Duration) time.Time { return netsim.Epoch.Add(d) }
