package scenario

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Net is a compiled, valid version 2 scenario: a graph of hosts and
// routers joined by links, and the flows that run over it.
type Net struct {
	Name        string
	Description string
	Seed        uint64
	Duration    time.Duration
	Interval    time.Duration
	Hosts       []string
	Routers     []string
	Links       []NetLink
	Flows       []Flow
}

// NetLink is a link between nodes A and B; Link.Up is the direction A to
// B, Link.Down B to A.
type NetLink struct {
	A, B     string
	Link     Link
	Endpoint EndpointFlags // for a host end's address
	Events   []Event
	bdp      float64 // a queue given in BDPs, resolved once every link is known
}

// EndpointFlags are the MPTCP endpoint flags of a host address.
type EndpointFlags struct {
	Signal, Subflow, Backup, Fullmesh bool
}

// Protocols a flow may run.
const (
	MPTCP = "mptcp"
	TCP   = "tcp"
)

// Workload kinds.
const (
	Bulk     = "bulk"
	Requests = "requests"
	Objects  = "objects"
	RateKind = "rate"
)

// Flow is one compiled flow.
type Flow struct {
	Name       string
	From, To   string
	Protocol   string
	Scheduler  string
	CC, PM     string
	SendBuffer int
	RecvBuffer int
	Checksum   bool
	// NoIdleRestart keeps congestion windows through idle periods.
	NoIdleRestart bool
	Start         time.Duration
	Connections   int
	Workload      Workload
}

// Workload is a compiled WorkloadFile.
type Workload struct {
	Kind          string
	Size          int64 // bulk; 0 until the end
	Request       Dist  // bytes
	Response      Dist  // bytes
	Gap           Dist  // seconds
	Count         int   // 0: until the end
	Rate          int64 // bit/s
	NewConnection bool
	Upload        bool
}

// IsV2 reports whether a scenario file declares `version: 2`.
func IsV2(data []byte) bool {
	var v struct {
		Version int `yaml:"version"`
	}
	return yaml.Unmarshal(data, &v) == nil && v.Version == 2
}

// ParseNet decodes and compiles a version 2 scenario.
func ParseNet(data []byte) (*Net, error) {
	var f NetFile
	p, err := decode(data, &f)
	if err != nil {
		return nil, err
	}
	return compileNet(&f, p)
}

// CompileNet checks a NetFile and converts it to a Net.
func CompileNet(f *NetFile) (*Net, error) { return compileNet(f, positions{}) }

// compileNet is CompileNet with the positions of the file's fields.
func compileNet(f *NetFile, p positions) (*Net, error) {
	c := &compiler{pos: p}
	n := &Net{Name: f.Name, Description: f.Description, Seed: DefaultSeed, Duration: DefaultDuration, Interval: 100 * time.Millisecond}
	if n.Name == "" {
		n.Name = "custom"
	}
	if f.Version != 2 {
		c.fail("version", fmt.Sprintf("%d: this form needs version 2", f.Version))
	}
	if f.Seed != nil {
		n.Seed = *f.Seed
	}
	if f.Duration != "" {
		n.Duration = c.duration("duration", f.Duration)
	}
	if f.Interval != "" {
		n.Interval = c.duration("interval", f.Interval)
	}
	if c.err == nil && (n.Duration <= 0 || n.Interval <= 0) {
		c.fail("duration", "duration and interval must be positive")
	}
	g := &graph{nodes: map[string]bool{}}
	g.topology(c, &f.Topology)
	n.Hosts, n.Routers, n.Links = g.hosts, g.routers, g.links
	hostSet := map[string]bool{}
	for _, h := range n.Hosts {
		hostSet[h] = true
	}
	names := map[string]bool{}
	add := func(at string, ff *FlowFile) {
		fl := c.flow(at, ff, &f.Defaults, hostSet)
		if fl.Name == "" {
			fl.Name = fmt.Sprintf("f%d", len(n.Flows))
		}
		if names[fl.Name] {
			c.fail(at+".name", fmt.Sprintf("%q is used twice", fl.Name))
		}
		names[fl.Name] = true
		n.Flows = append(n.Flows, fl)
	}
	for i := range f.Flows {
		add(fmt.Sprintf("flows[%d]", i), &f.Flows[i])
	}
	rng := rand.New(rand.NewPCG(n.Seed, 0x7261666669630a)) // matrices draw from the seed alone
	for i := range f.Traffic {
		at := fmt.Sprintf("traffic[%d]", i)
		for j, ff := range c.matrix(at, &f.Traffic[i], n.Hosts, hostSet, rng) {
			add(fmt.Sprintf("%s (flow %d)", at, j), &ff)
		}
	}
	if c.err == nil && len(n.Flows) == 0 {
		c.fail("flows", "no flow: give flows or traffic")
	}
	if c.err != nil {
		return nil, c.err
	}
	return n, nil
}

// flow compiles one flow, taking what it leaves out from def.
func (c *compiler) flow(at string, ff *FlowFile, def *FlowPolicyFile, hosts map[string]bool) Flow {
	pick := func(v, d string) string {
		if v != "" {
			return v
		}
		return d
	}
	fl := Flow{
		Name: ff.Name, From: ff.From, To: ff.To,
		Protocol:  strings.ToLower(pick(ff.Protocol, def.Protocol)),
		Scheduler: pick(ff.Scheduler, def.Scheduler),
		CC:        pick(ff.CC, def.CC),
		PM:        pick(ff.PM, def.PM),
		Checksum:  ff.Checksum || def.Checksum, NoIdleRestart: ff.NoIdleRestart || def.NoIdleRestart,
		Connections: max(ff.Connections, 1),
	}
	if fl.Name != "" && !validName(fl.Name) {
		c.fail(at+".name", fmt.Sprintf("%q: use letters, digits, '-' and '_' (at most 15)", fl.Name))
	}
	for _, e := range []struct{ field, v string }{{"from", ff.From}, {"to", ff.To}} {
		if !hosts[e.v] {
			c.fail(at+"."+e.field, fmt.Sprintf("%q is not a host of the topology", e.v))
		}
	}
	if ff.From == ff.To && ff.From != "" {
		c.fail(at+".to", "a flow needs two different hosts")
	}
	switch fl.Protocol {
	case "":
		fl.Protocol = MPTCP
	case MPTCP, TCP:
	default:
		c.fail(at+".protocol", fmt.Sprintf("%q: want mptcp or tcp", fl.Protocol))
	}
	sub := ff.Subflows
	if sub == 0 {
		sub = def.Subflows
	}
	if sub < 0 || sub > 32 {
		c.fail(at+".subflows", fmt.Sprintf("%d: want 1 to 32", sub))
	}
	if sub > 1 {
		if fl.PM != "" {
			c.fail(at+".subflows", "give subflows or pm, not both")
		}
		fl.PM = fmt.Sprintf("ndiffports:%d", sub)
	}
	if v := pick(ff.SendBuffer, def.SendBuffer); v != "" {
		fl.SendBuffer = int(c.size(at+".send_buffer", v))
	}
	if v := pick(ff.ReceiveBuffer, def.ReceiveBuffer); v != "" {
		fl.RecvBuffer = int(c.size(at+".receive_buffer", v))
	}
	if ff.Start != "" {
		fl.Start = c.duration(at+".start", ff.Start)
	}
	fl.Workload = c.workload(at+".workload", &ff.Workload)
	return fl
}

func (c *compiler) workload(at string, wf *WorkloadFile) Workload {
	w := Workload{Kind: strings.ToLower(wf.Kind), Count: wf.Count, NewConnection: wf.NewConnection, Upload: wf.Upload}
	if w.Kind == "" {
		w.Kind = Bulk
	}
	dist := func(field, v, def string, unit func(string) (float64, error)) Dist {
		if v == "" {
			v = def
		}
		d, err := ParseDist(v, unit)
		if err != nil {
			c.fail(at+"."+field, err.Error())
		}
		return d
	}
	sizeUnit := func(s string) (float64, error) { z, err := ParseSize(s); return float64(z), err }
	timeUnit := func(s string) (float64, error) { d, err := ParseDuration(s); return d.Seconds(), err }
	switch w.Kind {
	case Bulk:
		if wf.Size != "" {
			w.Size = int64(c.size(at+".size", wf.Size))
		}
		if wf.NewConnection || wf.Count != 0 {
			c.fail(at, "a bulk workload is one transfer: use objects for a series")
		}
	case Requests, Objects:
		if w.Kind == Requests {
			w.Request = dist("request", wf.Request, "100B", sizeUnit)
		}
		w.Response = dist("response", wf.Response, "", sizeUnit)
		w.Gap = dist("gap", wf.Gap, "0s", timeUnit)
		if wf.Count < 0 {
			c.fail(at+".count", "must not be negative")
		}
		if wf.Upload {
			c.fail(at+".upload", "only bulk and rate workloads go up")
		}
	case RateKind:
		if wf.Rate == "" {
			c.fail(at+".rate", "a rate workload needs a rate")
		} else {
			w.Rate = int64(c.rate(at+".rate", wf.Rate))
		}
	default:
		c.fail(at+".kind", fmt.Sprintf("%q: want bulk, requests, objects or rate", wf.Kind))
	}
	return w
}

// matrix expands a traffic matrix into flows between hosts.
func (c *compiler) matrix(at string, tf *TrafficFile, all []string, hosts map[string]bool, rng *rand.Rand) []FlowFile {
	set := all
	if len(tf.Hosts) > 0 {
		set = tf.Hosts
		for i, h := range set {
			if !hosts[h] {
				c.fail(fmt.Sprintf("%s.hosts[%d]", at, i), fmt.Sprintf("%q is not a host of the topology", h))
				return nil
			}
		}
	}
	if tf.From != "" || tf.To != "" {
		c.fail(at, "a matrix chooses from and to itself")
		return nil
	}
	if len(set) < 2 {
		c.fail(at+".hosts", "a matrix needs two hosts or more")
		return nil
	}
	var pairs [][2]string
	switch strings.ToLower(tf.Matrix) {
	case "permutation":
		// A random derangement: every host sends to one other and
		// receives from one other (SIGCOMM'11's permutation matrix).
		perm := make([]int, len(set))
		for {
			for i := range perm {
				perm[i] = i
			}
			rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
			if derangement(perm) {
				break
			}
		}
		for i, j := range perm {
			pairs = append(pairs, [2]string{set[i], set[j]})
		}
	case "random":
		for i, h := range set {
			j := rng.IntN(len(set) - 1)
			if j >= i {
				j++
			}
			pairs = append(pairs, [2]string{h, set[j]})
		}
	case "incast":
		target := tf.Target
		if target == "" {
			target = set[0]
		}
		if !hosts[target] {
			c.fail(at+".target", fmt.Sprintf("%q is not a host of the topology", target))
			return nil
		}
		for _, h := range set {
			if h != target {
				pairs = append(pairs, [2]string{h, target})
			}
		}
	case "all-to-all":
		for _, a := range set {
			for _, b := range set {
				if a != b {
					pairs = append(pairs, [2]string{a, b})
				}
			}
		}
	default:
		c.fail(at+".matrix", fmt.Sprintf("%q: want permutation, random, incast or all-to-all", tf.Matrix))
		return nil
	}
	// The sender of a matrix entry is the flow's server (bulk data goes
	// from To to From): "a sends to b" is b dialling a.
	out := make([]FlowFile, 0, len(pairs))
	for i, p := range pairs {
		ff := tf.FlowFile
		ff.From, ff.To = p[1], p[0]
		if ff.Name != "" {
			ff.Name = fmt.Sprintf("%s%d", ff.Name, i)
		}
		out = append(out, ff)
	}
	return out
}

func derangement(p []int) bool {
	for i, j := range p {
		if i == j {
			return false
		}
	}
	return true
}

// graph collects a topology's nodes and links as they compile.
type graph struct {
	nodes   map[string]bool // name -> is a host
	hosts   []string
	routers []string
	links   []NetLink
}

func (g *graph) node(c *compiler, at, name string, host bool) {
	if !validName(name) {
		c.fail(at, fmt.Sprintf("%q: use letters, digits, '-' and '_' (at most 15)", name))
		return
	}
	if _, dup := g.nodes[name]; dup {
		c.fail(at, fmt.Sprintf("%q is used twice", name))
		return
	}
	g.nodes[name] = host
	if host {
		g.hosts = append(g.hosts, name)
	} else {
		g.routers = append(g.routers, name)
	}
}

func (g *graph) topology(c *compiler, tf *TopologyFile) {
	if tf.FatTree != nil {
		g.fatTree(c, tf.FatTree)
	}
	if tf.LeafSpine != nil {
		g.leafSpine(c, tf.LeafSpine)
	}
	for i, h := range tf.Hosts {
		g.node(c, fmt.Sprintf("topology.hosts[%d]", i), h, true)
	}
	for i, r := range tf.Routers {
		g.node(c, fmt.Sprintf("topology.routers[%d]", i), r, false)
	}
	for i := range tf.Links {
		g.link(c, fmt.Sprintf("topology.links[%d]", i), &tf.Links[i])
	}
	if c.err == nil && len(g.hosts) < 2 {
		c.fail("topology", "at least two hosts are needed")
	}
	if c.err == nil {
		g.checkConnected(c)
	}
	g.resolveQueues()
}

func (g *graph) link(c *compiler, at string, lf *NetLinkFile) {
	for _, e := range []struct{ field, v string }{{"a", lf.A}, {"b", lf.B}} {
		if _, ok := g.nodes[e.v]; !ok {
			c.fail(at+"."+e.field, fmt.Sprintf("%q is not a host or router of the topology", e.v))
			return
		}
	}
	if lf.A == lf.B {
		c.fail(at+".b", "a link joins two different nodes")
		return
	}
	if g.nodes[lf.A] && g.nodes[lf.B] {
		c.fail(at, "hosts do not forward: join two hosts through a router")
		return
	}
	l := g.add(c, at, lf.A, lf.B, &lf.LinkFile)
	for j, fl := range lf.Endpoint {
		switch strings.ToLower(fl) {
		case "signal":
			l.Endpoint.Signal = true
		case "subflow":
			l.Endpoint.Subflow = true
		case "backup":
			l.Endpoint.Backup = true
		case "fullmesh":
			l.Endpoint.Fullmesh = true
		default:
			c.fail(fmt.Sprintf("%s.endpoint[%d]", at, j), fmt.Sprintf("%q: want signal, subflow, backup or fullmesh", fl))
		}
	}
	if lf.Endpoint != nil && !g.nodes[lf.A] && !g.nodes[lf.B] {
		c.fail(at+".endpoint", "endpoint flags belong to a host's address: this link joins two routers")
	}
	l.Events = c.events(at, lf.Outages, lf.Changes)
}

// add appends a link between nodes a and b and returns it.
func (g *graph) add(c *compiler, at, a, b string, lf *LinkFile) *NetLink {
	l := NetLink{A: a, B: b, Link: c.link(at, lf)}
	if q, err := ParseQueue(lf.Queue); err == nil && q.BDP > 0 {
		if lf.Up != nil && lf.Up.Queue != "" {
			c.fail(at+".up.queue", "a fabric link's queue in BDPs applies to both directions")
		}
		l.bdp = q.BDP
	}
	g.links = append(g.links, l)
	return &g.links[len(g.links)-1]
}

// checkConnected fails unless every host reaches every other.
func (g *graph) checkConnected(c *compiler) {
	adj := map[string][]string{}
	for _, l := range g.links {
		adj[l.A] = append(adj[l.A], l.B)
		adj[l.B] = append(adj[l.B], l.A)
	}
	seen := map[string]bool{g.hosts[0]: true}
	queue := []string{g.hosts[0]}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if g.nodes[n] && n != g.hosts[0] {
			continue // hosts do not forward
		}
		for _, m := range adj[n] {
			if !seen[m] {
				seen[m] = true
				queue = append(queue, m)
			}
		}
	}
	for _, h := range g.hosts {
		if !seen[h] {
			c.fail("topology.links", fmt.Sprintf("host %q cannot reach host %q", h, g.hosts[0]))
			return
		}
	}
}

// resolveQueues turns queues given in BDPs into bytes, over the longest
// propagation RTT between two hosts: twice the sum of the delays along
// the longest chain of links a route may take (six in a FatTree), an
// upper bound that a fabric's small delays keep small.
func (g *graph) resolveQueues() {
	var d time.Duration
	for _, l := range g.links {
		d = max(d, l.Link.Down.Delay, l.Link.Up.Delay)
	}
	rtt := 2 * 6 * d
	for i := range g.links {
		l := &g.links[i]
		if l.bdp > 0 {
			l.Link.Down.QueueBytes = max(int(l.bdp*float64(l.Link.Down.Rate)/8*rtt.Seconds()), 3000)
			l.Link.Up.QueueBytes = max(int(l.bdp*float64(l.Link.Up.Rate)/8*rtt.Seconds()), 3000)
		}
	}
}

// events compiles a link's outages and changes, in time order.
func (c *compiler) events(at string, outages []OutageFile, changes []ChangeFile) []Event {
	var evs []Event
	for j, o := range outages {
		oat := fmt.Sprintf("%s.outages[%d]", at, j)
		start := c.duration(oat+".at", o.At)
		length := c.duration(oat+".for", o.For)
		if c.err == nil && length == 0 {
			c.fail(oat+".for", "an outage needs a positive length")
		}
		evs = append(evs, Event{At: start, Down: true}, Event{At: start + length, Up: true})
	}
	for j, ch := range changes {
		cat := fmt.Sprintf("%s.changes[%d]", at, j)
		e := Event{At: c.duration(cat+".at", ch.At)}
		if ch.Rate != "" {
			r := int64(c.rate(cat+".rate", ch.Rate))
			e.Rate = &r
		}
		if ch.Delay != "" {
			d := c.duration(cat+".delay", ch.Delay)
			e.Delay = &d
		}
		if ch.Loss != "" {
			l := c.prob(cat+".loss", ch.Loss)
			e.Loss = &l
		}
		if c.err == nil && e.Rate == nil && e.Delay == nil && e.Loss == nil {
			c.fail(cat, "a change needs a rate, delay or loss")
		}
		evs = append(evs, e)
	}
	sort.SliceStable(evs, func(a, b int) bool { return evs[a].At < evs[b].At })
	return evs
}
