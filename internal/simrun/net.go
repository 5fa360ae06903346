package simrun

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/pcap"
	"github.com/mptcp-go/mptcp/pm"
	"github.com/mptcp-go/mptcp/scenario"
)

// NetOptions adjust a version 2 run without editing its scenario.
type NetOptions struct {
	// Seed and Duration, when non-zero, replace the scenario's.
	Seed     uint64
	Duration time.Duration
	// Scheduler, CC and PM, when non-empty, replace every MPTCP flow's.
	Scheduler, CC, PM string
	// Pcap, if set, receives every packet of every host.
	Pcap io.Writer
	// Series records per-subflow series for every flow; by default only
	// runs of at most SeriesFlows flows record them.
	Series bool
}

// SeriesFlows is the most flows a run records series for by default.
const SeriesFlows = 16

// firstPort is the server port of flow 0; flow i listens on firstPort+i,
// below the ephemeral range, so a host tells its flows apart by port.
const firstPort = 10000

// MaxFlows bounds a version 2 run's flows (their ports stay below the
// ephemeral range).
const MaxFlows = 20000

// rateTick is how often a rate workload writes.
const rateTick = 10 * time.Millisecond

// RunNet executes a version 2 scenario and returns what it measured.
func RunNet(sc *scenario.Net, o NetOptions) (*NetResult, error) {
	s := *sc
	if o.Seed != 0 {
		s.Seed = o.Seed
	}
	if o.Duration != 0 {
		s.Duration = o.Duration
	}
	if len(s.Flows) > MaxFlows {
		return nil, fmt.Errorf("%d flows, at most %d", len(s.Flows), MaxFlows)
	}
	if err := CheckInterval(s.Duration, s.Interval); err != nil {
		return nil, err
	}
	s.Flows = append([]scenario.Flow(nil), s.Flows...)
	for i := range s.Flows {
		f := &s.Flows[i]
		if f.Protocol != scenario.MPTCP {
			continue
		}
		for _, p := range []struct {
			dst *string
			v   string
		}{{&f.Scheduler, o.Scheduler}, {&f.CC, o.CC}, {&f.PM, o.PM}} {
			if p.v != "" {
				*p.dst = p.v
			}
		}
		if err := checkPolicies("flow "+f.Name+": ", f.Scheduler, f.CC, f.PM); err != nil {
			return nil, err
		}
	}
	r := &netRun{sc: &s, pat: newPattern(s.Seed), scratch: make([]byte, chunk)}
	r.series = o.Series || len(s.Flows) <= SeriesFlows
	if err := r.setup(o.Pcap); err != nil {
		return nil, err
	}
	r.sim.RunUntil(netsim.Epoch.Add(s.Duration))
	if err := r.sim.Err(); err != nil {
		return nil, fmt.Errorf("simulation stopped: %w", err)
	}
	if err := r.sim.CaptureErr(); err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	return r.result(), nil
}

// netRun is one execution of a version 2 scenario.
type netRun struct {
	sc      *scenario.Net
	sim     *netsim.Sim
	top     *scenario.NetTopology
	pat     pattern
	scratch []byte
	flows   []*netFlow
	series  bool
	points  []SeriesPoint
	err     error
}

func (r *netRun) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *netRun) setup(w io.Writer) error {
	r.sim = netsim.New(r.sc.Seed)
	top, err := r.sc.Build(r.sim)
	if err != nil {
		return err
	}
	r.top = top
	if w != nil {
		pw, err := pcap.NewWriter(w)
		if err != nil {
			return err
		}
		for _, h := range r.sc.Hosts {
			for _, ifc := range top.Hosts[h].Interfaces() {
				ifc.Capture(pw)
			}
		}
	}
	demux := map[string]*portDemux{}
	for _, h := range r.sc.Hosts {
		demux[h] = &portDemux{server: map[uint16]netsim.Stack{}, client: map[uint16]netsim.Stack{}}
		top.Hosts[h].SetStack(demux[h])
	}
	for i := range r.sc.Flows {
		f := &netFlow{r: r, sc: &r.sc.Flows[i], port: uint16(firstPort + i), ok: true, lastSub: map[int]uint64{}}
		f.rng = r.sim.Rand("flow/" + f.sc.Name)
		if err := f.setup(demux); err != nil {
			return fmt.Errorf("flow %s: %w", f.sc.Name, err)
		}
		r.flows = append(r.flows, f)
	}
	var tick *netsim.Timer
	tick = r.sim.NewTimer(func() {
		r.sample()
		tick.ResetAfter(r.sc.Interval)
	})
	tick.Reset(netsim.Epoch.Add(r.sc.Interval))
	return nil
}

// portDemux runs a host's stacks, one per flow end: packets for a flow
// this host serves go by destination port, replies to a flow it dialled
// by source port.
type portDemux struct {
	server, client map[uint16]netsim.Stack
	all            []netsim.Stack
}

// Deliver implements netsim.Stack.
func (d *portDemux) Deliver(now time.Time, pkt []byte) {
	_, _, proto, payload, err := wireParse(pkt)
	if err != nil || proto != 6 || len(payload) < 4 {
		return // not TCP: nothing here speaks it
	}
	sport, dport := uint16(payload[0])<<8|uint16(payload[1]), uint16(payload[2])<<8|uint16(payload[3])
	if st, ok := d.server[dport]; ok {
		st.Deliver(now, pkt)
	} else if st, ok := d.client[sport]; ok {
		st.Deliver(now, pkt)
	}
}

// Poll implements netsim.Stack.
func (d *portDemux) Poll(now time.Time, send func([]byte)) time.Time {
	return pollAll(d.all, now, send)
}

// netFlow is one flow of the scenario: a client stack, a server stack, and
// the connections between them.
type netFlow struct {
	r              *netRun
	sc             *scenario.Flow
	port           uint16
	client, server *core.Stack
	clientHost     *netsim.Host
	serverHost     *netsim.Host
	serverAddr     netip.Addr
	rng            *rand.Rand
	conns          []*netConn
	pending        []*netConn
	started        time.Duration
	dialled        bool
	finishedAt     time.Duration
	slotsDone      int
	objects        []time.Duration
	lastSub        map[int]uint64
	oooSum         float64
	oooN           int
	oooMax         int
	maxLag         float64
	names          [3]string
	ok             bool
}

func (f *netFlow) setup(demux map[string]*portDemux) error {
	r := f.r
	cfg := core.Config{
		Scheduler: f.sc.Scheduler, CongestionControl: f.sc.CC, PathManager: f.sc.PM,
		SendBuffer: f.sc.SendBuffer, ReceiveBuffer: f.sc.RecvBuffer, ReceiveBufferMax: f.sc.RecvBuffer,
		Checksum: f.sc.Checksum, DisableMPTCP: f.sc.Protocol == scenario.TCP,
	}
	cfg.TCP.DisableSlowStartAfterIdle = f.sc.NoIdleRestart
	f.clientHost, f.serverHost = r.top.Hosts[f.sc.From], r.top.Hosts[f.sc.To]
	var err error
	if f.client, err = stackFor(f.clientHost, cfg, r.top.Addrs[f.sc.From]); err != nil {
		return err
	}
	if f.server, err = stackFor(f.serverHost, cfg, r.top.Addrs[f.sc.To]); err != nil {
		return err
	}
	c := f.client.Config()
	f.names = [3]string{c.Scheduler, c.CongestionControl, c.PathManager}
	f.serverAddr = r.top.Addrs[f.sc.To][0].Addr
	ln, err := f.server.Listen(netip.AddrPortFrom(f.serverAddr, f.port))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ln.SetNotify(func() { f.accept(ln) })
	dc, ds := demux[f.sc.From], demux[f.sc.To]
	dc.client[f.port], ds.server[f.port] = f.client, f.server
	dc.all, ds.all = append(dc.all, f.client), append(ds.all, f.server)
	for range f.sc.Connections {
		s := &slot{}
		r.sim.Schedule(netsim.Epoch.Add(f.sc.Start), func() { f.dial(s) })
	}
	return nil
}

// stackFor makes a stack on h with h's addresses, as endpoints with
// their flags where the scenario gives any.
func stackFor(h *netsim.Host, cfg core.Config, addrs []scenario.HostAddr) (*core.Stack, error) {
	cfg.Rand = h.Rand()
	st, err := core.NewStack(cfg)
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		fl := a.Flags
		if fl == (scenario.EndpointFlags{}) {
			st.AddAddress(a.Addr)
			continue
		}
		if _, err := st.AddEndpoint(pm.LocalAddr{Addr: a.Addr, Signal: fl.Signal, Subflow: fl.Subflow, Backup: fl.Backup, Fullmesh: fl.Fullmesh}); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// slot is one of a flow's parallel connections: with NewConnection it
// is a series of connections, one per object.
type slot struct {
	objects int
}

// dial opens a connection of slot s and starts its workload.
func (f *netFlow) dial(s *slot) {
	r := f.r
	now := r.sim.Elapsed()
	if !f.dialled {
		f.dialled, f.started = true, now
	}
	local := r.top.Addrs[f.sc.From][0]
	c, err := f.client.Dial(r.sim.Now(), local.Addr, netip.AddrPortFrom(f.serverAddr, f.port),
		core.ConnOptions{Backup: local.Flags.Backup, DisableMPTCP: f.sc.Protocol == scenario.TCP})
	if err != nil {
		r.fail(fmt.Errorf("flow %s: dial: %w", f.sc.Name, err))
		return
	}
	nc := &netConn{f: f, slot: s, cli: c, up: stream{ok: true}, down: stream{ok: true}}
	f.conns = append(f.conns, nc)
	f.pending = append(f.pending, nc)
	c.SetNotify(func() { nc.pump(true) })
	nc.start()
	f.clientHost.Wake()
}

// accept pairs the server's new connections with the client's dials.
func (f *netFlow) accept(ln *core.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if !errors.Is(err, core.ErrWouldBlock) {
				f.r.fail(fmt.Errorf("flow %s: accept: %w", f.sc.Name, err))
			}
			return
		}
		i := 0
		for i < len(f.pending) && f.pending[i].cli.LocalAddr() != c.RemoteAddr() {
			i++
		}
		if i == len(f.pending) {
			f.r.fail(fmt.Errorf("flow %s: accepted %v, which no dial made", f.sc.Name, c.RemoteAddr()))
			_ = c.Close()
			continue
		}
		nc := f.pending[i]
		f.pending = append(f.pending[:i], f.pending[i+1:]...)
		nc.srv = c
		c.SetNotify(func() { nc.pump(false) })
		nc.pump(false)
		f.serverHost.Wake()
	}
}

// netConn is one connection of a flow and its two byte streams.
type netConn struct {
	f        *netFlow
	slot     *slot
	cli, srv *core.Conn
	up, down stream // client to server, server to client
	objStart time.Duration
	onUp     func() // the server has read up.target bytes
	onDown   func() // the client has read down.target bytes
	done     bool
	rateAcc  float64
}

// stream is one direction of a connection: the writer's schedule and
// the reader's progress.
type stream struct {
	want      int64 // bytes the writer is to have written
	unlimited bool
	sent, got int64
	target    int64 // the reader's next milestone; 0 for none
	closeAt   bool  // CloseWrite once want is written
	closed    bool
	eof       bool
	ok        bool
}

// start begins the connection's workload.
func (c *netConn) start() {
	f, w := c.f, c.f.sc.Workload
	switch w.Kind {
	case scenario.Bulk:
		st := &c.down
		if w.Upload {
			st = &c.up
		}
		st.want, st.unlimited, st.closeAt = w.Size, w.Size == 0, w.Size > 0
		if w.Size > 0 {
			st.target = w.Size
			fin := func() { c.finish() }
			if w.Upload {
				c.onUp = fin
			} else {
				c.onDown = fin
			}
		}
	case scenario.RateKind:
		c.rateTimer(w)
	case scenario.Requests, scenario.Objects:
		c.onDown = c.objectDone
		c.onUp = func() {
			size := int64(max(1, math.Round(w.Response.Sample(f.rng))))
			c.down.want += size
			c.down.target = c.down.want
		}
		c.nextObject()
	}
}

// rateTimer writes a rate workload's bytes every rateTick.
func (c *netConn) rateTimer(w scenario.Workload) {
	st := &c.down
	if w.Upload {
		st = &c.up
	}
	var t *netsim.Timer
	t = c.f.r.sim.NewTimer(func() {
		c.rateAcc += float64(w.Rate) / 8 * rateTick.Seconds()
		n := int64(c.rateAcc)
		c.rateAcc -= float64(n)
		st.want += n
		lag := float64(st.want-st.got) * 8 / float64(w.Rate)
		c.f.maxLag = max(c.f.maxLag, lag)
		c.pump(true)
		c.pump(false)
		t.ResetAfter(rateTick)
	})
	t.ResetAfter(0)
}

// nextObject sends the next request, or has the server send the next
// object.
func (c *netConn) nextObject() {
	f, w := c.f, c.f.sc.Workload
	c.objStart = f.r.sim.Elapsed()
	if w.Kind == scenario.Requests {
		c.up.want += int64(max(1, math.Round(w.Request.Sample(f.rng))))
		c.up.target = c.up.want
	} else {
		c.onUp()
	}
	c.pump(true)
	c.pump(false)
}

// objectDone records a completed object and starts the next.
func (c *netConn) objectDone() {
	f, w := c.f, c.f.sc.Workload
	now := f.r.sim.Elapsed()
	f.objects = append(f.objects, now-c.objStart)
	c.slot.objects++
	if w.Count > 0 && c.slot.objects >= w.Count {
		c.finish()
		return
	}
	gap := time.Duration(w.Gap.Sample(f.rng) * float64(time.Second))
	if w.NewConnection {
		c.close()
		f.r.sim.Schedule(f.r.sim.Now().Add(gap), func() { f.dial(c.slot) })
		return
	}
	// Scheduled even without a gap: callbacks run inside a pump, which
	// must not start another.
	f.r.sim.Schedule(f.r.sim.Now().Add(gap), c.nextObject)
}

// finish ends the slot: its workload is complete.
func (c *netConn) finish() {
	f := c.f
	c.close()
	f.slotsDone++
	if f.slotsDone == f.sc.Connections {
		f.finishedAt = f.r.sim.Elapsed()
	}
}

// close closes the connection's writing sides; each side closes fully
// when it reads the other's end. It runs inside a pump, which writes
// this side's end; the other side is pumped next.
func (c *netConn) close() {
	c.done = true
	c.up.closeAt, c.up.want, c.up.unlimited = true, c.up.sent, false
	c.down.closeAt, c.down.want, c.down.unlimited = true, c.down.sent, false
}

// pump moves the connection's data at one end: the client reads down and
// writes up, the server the reverse. The reader's milestones run their
// callbacks, which change what either side is to write; the other side is
// then pumped in an event of its own.
func (c *netConn) pump(client bool) {
	conn, wr, rd, host := c.cli, &c.up, &c.down, c.f.clientHost
	if !client {
		conn, wr, rd, host = c.srv, &c.down, &c.up, c.f.serverHost
	}
	if conn == nil {
		return
	}
	r := c.f.r
	moved, fired := false, false
	for !rd.eof {
		n, err := conn.Read(r.scratch)
		if n > 0 {
			if !r.pat.check(r.scratch[:n], uint64(rd.got)) {
				rd.ok, c.f.ok = false, false
			}
			rd.got += int64(n)
			moved = true
			if rd.target > 0 && rd.got >= rd.target {
				rd.target, fired = 0, true
				if client && c.onDown != nil {
					c.onDown()
				} else if !client && c.onUp != nil {
					c.onUp()
				}
			}
			continue
		}
		if err == io.EOF {
			rd.eof = true
			_ = conn.Close()
			moved = true
		}
		break
	}
	for !wr.closed && !rd.eof && (wr.unlimited || wr.sent < wr.want) {
		n := int64(chunk)
		if !wr.unlimited {
			n = min(n, wr.want-wr.sent)
		}
		w, err := conn.Write(r.pat.at(uint64(wr.sent), int(n)))
		wr.sent += int64(w)
		moved = moved || w > 0
		if err != nil || int64(w) < n {
			break
		}
	}
	if wr.closeAt && !wr.closed && wr.sent >= wr.want && !rd.eof {
		wr.closed = true
		_ = conn.CloseWrite()
		moved = true
	}
	if fired {
		r.sim.Schedule(r.sim.Now(), func() { c.pump(!client) })
	}
	if moved {
		host.Wake()
	}
}
