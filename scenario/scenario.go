// Package scenario describes the networks and transfers that `mptcp sim`
// runs, and that `mptcp emu` reproduces on emulated real links: a client
// with one or more paths to a server, each path with its rate, delay, loss,
// queue and schedule of outages, optional TCP competitors sharing the
// server's link, the transfer, and the policy names.
//
// A scenario is written in YAML (or JSON) as a File and compiled into a
// Scenario, whose values are checked and in the units the simulator takes.
// Every error names the field it is about and, for a parsed file, where
// the file writes it, for example `line 9, column 11: paths[1].rate:
// "20Mbt" is not a rate (examples: 20Mbit, 1.5Gbit, 500kbit)`.
package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/mptcp-go/mptcp/netsim"
	"gopkg.in/yaml.v3"
)

// ErrInvalid is wrapped by every error about a scenario's contents.
var ErrInvalid = errors.New("invalid scenario")

// MaxPaths bounds the client's paths, which the address plan numbers.
const MaxPaths = 16

// MaxCompetitors bounds the competing TCP hosts.
const MaxCompetitors = 16

// Direction says which way a transfer's bytes flow.
type Direction string

// The transfer directions.
const (
	Download Direction = "download" // server to client
	Upload   Direction = "upload"   // client to server
	Both     Direction = "both"
)

// Scenario is a compiled, valid scenario.
type Scenario struct {
	Name        string
	Description string
	Seed        uint64
	Duration    time.Duration
	IPv6        bool
	// Scheduler, CC and PM are policy names; empty means the stack's default.
	Scheduler, CC, PM string
	Paths             []Path
	// ServerLink joins the router to the server; by default it is ideal,
	// and giving it a rate makes it a bottleneck that every path and
	// competitor shares.
	ServerLink  Link
	Competitors []Competitor
	Transfer    Transfer
}

// Link holds the two directions of a link.
type Link struct {
	Down netsim.PipeConfig // towards the client
	Up   netsim.PipeConfig // towards the server
}

// Path is one client access path.
type Path struct {
	Name   string
	Link   Link
	Backup bool
	Events []Event
}

// Event is a scheduled change to a path, in both directions.
type Event struct {
	At time.Duration
	// Down and Up take the path down or bring it back.
	Down, Up bool
	// Rate, Delay and Loss, when set, replace the path's values.
	Rate  *int64
	Delay *time.Duration
	Loss  *float64
}

// Span is a stretch of a run's time.
type Span struct{ From, To time.Duration }

// Outages returns when the path is down, in order: from each event that
// takes it down to the next that brings it back, or to end.
func (p *Path) Outages(end time.Duration) []Span {
	var spans []Span
	down := false
	for _, e := range p.Events {
		switch {
		case e.Down && !down:
			spans = append(spans, Span{From: e.At, To: end})
			down = true
		case e.Up && down:
			spans[len(spans)-1].To = e.At
			down = false
		}
	}
	return spans
}

// Competitor is a single-path TCP host behind its own access link.
type Competitor struct {
	Name string
	CC   string
	Link Link
}

// Transfer is the application traffic of the MPTCP connection.
type Transfer struct {
	Direction Direction
	Size      int64 // bytes per direction; 0 runs for the whole duration
	Start     time.Duration
}

// Load reads and compiles a scenario file.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	s, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Parse decodes and compiles a scenario written in YAML or JSON. Unknown
// fields are errors, so a misspelt key is not silently ignored. Every
// error names the field and where the file writes it ("line 9, column 11:
// paths[1].rate: ...").
func Parse(data []byte) (*Scenario, error) {
	var f File
	p, err := decode(data, &f)
	if err != nil {
		return nil, err
	}
	return compile(&f, p)
}

// decode decodes data into v, rejecting unknown fields, and returns where
// each field is written.
func decode(data []byte, v any) (positions, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return positions{}, syntaxError(data, err)
	}
	if len(root.Content) == 0 {
		// yaml.v3's answer for a document with no content.
		return positions{}, fmt.Errorf("%w: the file holds no scenario (it is empty or only comments; \"mptcp sim --show\" prints an example)", ErrInvalid)
	}
	p := locate(&root)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return positions{}, decodeError(err, p)
	}
	return p, nil
}

// Defaults for what a file leaves out.
const (
	DefaultDuration = 30 * time.Second
	DefaultSeed     = 1
)

// Compile checks a File and converts it to a Scenario.
func Compile(f *File) (*Scenario, error) { return compile(f, positions{}) }

// compile is Compile with the positions of the file's fields, if it was
// parsed from one.
func compile(f *File, p positions) (*Scenario, error) {
	c := compiler{pos: p}
	s := &Scenario{
		Name:        f.Name,
		Description: f.Description,
		Seed:        DefaultSeed,
		Duration:    DefaultDuration,
		IPv6:        f.IPv6,
		Scheduler:   f.Scheduler,
		CC:          f.CC,
		PM:          f.PM,
	}
	if s.Name == "" {
		s.Name = "custom"
	}
	if f.Seed != nil {
		s.Seed = *f.Seed
	}
	if f.Duration != "" {
		s.Duration = c.duration("duration", f.Duration)
		if c.err == nil && s.Duration == 0 {
			c.fail("duration", "must be positive")
		}
	}
	if len(f.Paths) == 0 {
		c.fail("paths", "at least one path is needed")
	}
	if len(f.Paths) > MaxPaths {
		c.fail("paths", fmt.Sprintf("%d paths, at most %d", len(f.Paths), MaxPaths))
	}
	if f.ServerLink != nil {
		s.ServerLink = c.link("server_link", f.ServerLink)
	}
	names := map[string]bool{}
	for i, pf := range f.Paths {
		at := fmt.Sprintf("paths[%d]", i)
		p := Path{Name: pf.Name, Backup: pf.Backup}
		if p.Name == "" {
			p.Name = fmt.Sprintf("path%d", i)
		}
		if !validName(p.Name) {
			c.fail(at+".name", fmt.Sprintf("%q: use letters, digits, '-' and '_' (at most 15)", p.Name))
		}
		if names[p.Name] {
			c.fail(at+".name", fmt.Sprintf("%q is used twice", p.Name))
		}
		names[p.Name] = true
		p.Link = c.link(at, &pf.LinkFile)
		// Outages and changes may be listed in any order; they apply in
		// time order.
		p.Events = c.events(at, pf.Outages, pf.Changes)
		s.Paths = append(s.Paths, p)
	}
	if len(f.Competitors) > MaxCompetitors {
		c.fail("competitors", fmt.Sprintf("%d competitors, at most %d", len(f.Competitors), MaxCompetitors))
	}
	for i, cf := range f.Competitors {
		at := fmt.Sprintf("competitors[%d]", i)
		k := Competitor{Name: cf.Name, CC: cf.CC, Link: c.link(at, &cf.LinkFile)}
		if k.Name == "" {
			k.Name = fmt.Sprintf("tcp%d", i)
		}
		if !validName(k.Name) || k.Name == "client" || k.Name == "server" || k.Name == "router" {
			c.fail(at+".name", fmt.Sprintf("%q is not a usable host name", k.Name))
		}
		if names["host:"+k.Name] {
			c.fail(at+".name", fmt.Sprintf("%q is used twice", k.Name))
		}
		names["host:"+k.Name] = true
		s.Competitors = append(s.Competitors, k)
	}
	switch d := Direction(strings.ToLower(f.Transfer.Direction)); d {
	case "":
		s.Transfer.Direction = Download
	case Download, Upload, Both:
		s.Transfer.Direction = d
	default:
		c.fail("transfer.direction", fmt.Sprintf("%q: want download, upload or both", f.Transfer.Direction))
	}
	if f.Transfer.Size != "" {
		s.Transfer.Size = int64(c.size("transfer.size", f.Transfer.Size))
	}
	if f.Transfer.Start != "" {
		s.Transfer.Start = c.duration("transfer.start", f.Transfer.Start)
	}
	if c.err != nil {
		return nil, c.err
	}
	s.resolveQueues(f)
	return s, nil
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,15}$`)

func validName(s string) bool { return nameRE.MatchString(s) }

// compiler converts fields and keeps the first error, so Compile reads as a
// list of fields rather than a ladder of error checks.
type compiler struct {
	err error
	pos positions // where the file writes each field; none for a File built in Go
}

func (c *compiler) fail(field, msg string) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: %s%s: %s", ErrInvalid, c.pos.at(field), field, msg)
	}
}

func (c *compiler) rate(field, v string) Rate {
	r, err := ParseRate(v)
	if err != nil {
		c.fail(field, err.Error())
	}
	return r
}

func (c *compiler) duration(field, v string) time.Duration {
	if v == "" {
		c.fail(field, "missing")
		return 0
	}
	d, err := ParseDuration(v)
	if err != nil {
		c.fail(field, err.Error())
	}
	return d
}

func (c *compiler) prob(field, v string) float64 {
	p, err := ParseProbability(v)
	if err != nil {
		c.fail(field, err.Error())
	}
	return p
}

func (c *compiler) size(field, v string) Size {
	z, err := ParseSize(v)
	if err != nil {
		c.fail(field, err.Error())
	}
	return z
}

// link compiles a LinkFile; queues given in BDPs are resolved later, when
// every delay on the path is known.
func (c *compiler) link(at string, lf *LinkFile) Link {
	down := c.pipe(at, lf)
	up := down
	if lf.Up != nil {
		if lf.Up.Up != nil {
			c.fail(at+".up.up", "an up direction cannot have its own up")
		}
		up = c.override(at+".up", down, lf.Up)
	}
	return Link{Down: down, Up: up}
}

func (c *compiler) pipe(at string, lf *LinkFile) netsim.PipeConfig {
	var p netsim.PipeConfig
	return c.override(at, p, lf)
}

// override returns base with the fields lf sets replaced.
func (c *compiler) override(at string, base netsim.PipeConfig, lf *LinkFile) netsim.PipeConfig {
	p := base
	if lf.Rate != "" {
		p.Rate = int64(c.rate(at+".rate", lf.Rate))
	}
	if lf.Delay != "" {
		p.Delay = c.duration(at+".delay", lf.Delay)
	}
	if lf.Loss != "" {
		p.Loss = c.prob(at+".loss", lf.Loss)
	}
	if lf.Jitter != "" {
		p.Jitter = c.duration(at+".jitter", lf.Jitter)
	}
	if lf.Reorder != "" {
		p.Reorder = c.prob(at+".reorder", lf.Reorder)
	}
	if lf.Duplicate != "" {
		p.Duplicate = c.prob(at+".duplicate", lf.Duplicate)
	}
	if lf.Corrupt != "" {
		p.Corrupt = c.prob(at+".corrupt", lf.Corrupt)
	}
	if lf.MTU != 0 {
		if lf.MTU < 576 || lf.MTU > 65535 {
			c.fail(at+".mtu", fmt.Sprintf("%d: want 576 to 65535", lf.MTU))
		}
		p.MTU = lf.MTU
	}
	if b := lf.Burst; b != nil {
		g := netsim.GilbertElliott{LossBad: 1}
		if b.P == "" || b.R == "" {
			c.fail(at+".burst", "needs p and r (the chances of entering and leaving the bad state)")
		} else {
			g.P, g.R = c.prob(at+".burst.p", b.P), c.prob(at+".burst.r", b.R)
		}
		if b.LossGood != "" {
			g.LossGood = c.prob(at+".burst.loss_good", b.LossGood)
		}
		if b.LossBad != "" {
			g.LossBad = c.prob(at+".burst.loss_bad", b.LossBad)
		}
		p.Burst = &g
	}
	if lf.Queue != "" {
		q, err := ParseQueue(lf.Queue)
		if err != nil {
			c.fail(at+".queue", err.Error())
		}
		if q.BDP > 0 && p.Rate == 0 {
			c.fail(at+".queue", "a queue in BDPs needs a rate")
		}
		p.QueuePackets, p.QueueBytes = q.Packets, int(q.Bytes)
	}
	return p
}

// resolveQueues turns queue limits given in BDPs into bytes, using the
// round-trip propagation delay of the whole path (access link and server
// link, both ways).
func (s *Scenario) resolveQueues(f *File) {
	var srv time.Duration
	if f.ServerLink != nil {
		srv = s.ServerLink.Down.Delay + s.ServerLink.Up.Delay
	}
	bdpBytes := func(rate int64, rtt time.Duration, q string) int {
		qv, _ := ParseQueue(q)
		if qv.BDP == 0 {
			return 0
		}
		b := int(qv.BDP * float64(rate) / 8 * rtt.Seconds())
		return max(b, 3000) // never below two full-sized packets
	}
	resolve := func(l *Link, lf *LinkFile, rtt time.Duration) {
		if n := bdpBytes(l.Down.Rate, rtt, lf.Queue); n > 0 {
			l.Down.QueueBytes = n
		}
		upQ := lf.Queue
		if lf.Up != nil && lf.Up.Queue != "" {
			upQ = lf.Up.Queue
		}
		if n := bdpBytes(l.Up.Rate, rtt, upQ); n > 0 {
			l.Up.QueueBytes = n
		}
	}
	for i := range s.Paths {
		l := &s.Paths[i].Link
		resolve(l, &f.Paths[i].LinkFile, l.Down.Delay+l.Up.Delay+srv)
	}
	for i := range s.Competitors {
		l := &s.Competitors[i].Link
		resolve(l, &f.Competitors[i].LinkFile, l.Down.Delay+l.Up.Delay+srv)
	}
	if f.ServerLink != nil {
		// The server link's BDP uses the fastest path's RTT: the one its
		// queue must absorb to stay busy.
		rtt := time.Duration(1<<63 - 1)
		for _, p := range s.Paths {
			rtt = min(rtt, p.Link.Down.Delay+p.Link.Up.Delay+srv)
		}
		resolve(&s.ServerLink, f.ServerLink, rtt)
	}
}

// Capacity returns the average capacity, in bit/s, available to the MPTCP
// connection in direction d over the scenario's duration: the sum of the
// paths' rates while each is up, limited by the server link's rate. While
// a path with no rate limit is up, the capacity is the server link's
// rate; if that too is unlimited, the capacity is unknown and Capacity
// returns 0.
func (s *Scenario) Capacity(d Direction) int64 {
	return s.CapacityOver(d, 0, s.Duration)
}

// CapacityOver is Capacity averaged over [from, to) of the run, for a
// transfer that started late or finished early.
func (s *Scenario) CapacityOver(d Direction, from, to time.Duration) int64 {
	const step = 10 * time.Millisecond
	srv := pick(s.ServerLink, d).Rate
	var sum float64
	n := 0
	for t := from; t < to; t += step {
		var c int64
		unlimited := false
		for _, p := range s.Paths {
			rate, up := p.rateAt(t, d)
			c += rate
			unlimited = unlimited || up && rate == 0
		}
		if srv > 0 && (unlimited || c > srv) {
			c = srv
		} else if unlimited {
			return 0
		}
		sum += float64(c)
		n++
	}
	if n == 0 {
		return 0
	}
	return int64(sum / float64(n))
}

func pick(l Link, d Direction) netsim.PipeConfig {
	if d == Upload {
		return l.Up
	}
	return l.Down
}

// rateAt returns the path's rate in direction d at time t (0: no limit)
// and whether the path is up then.
func (p *Path) rateAt(t time.Duration, d Direction) (rate int64, up bool) {
	rate, up = pick(p.Link, d).Rate, true
	for _, e := range p.Events {
		if e.At > t {
			continue
		}
		switch {
		case e.Down:
			up = false
		case e.Up:
			up = true
		}
		if e.Rate != nil {
			rate = *e.Rate
		}
	}
	if !up {
		return 0, false
	}
	return rate, true
}
