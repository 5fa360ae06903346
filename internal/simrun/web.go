package simrun

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/scenario"
)

// WebOptions describe a web-shaped workload, the one `mptcp perf web`
// runs on emulated paths: Requests requests for Size bytes each, made by
// Concurrency clients at once, each on a new connection or on one
// connection per client kept for all its requests.
type WebOptions struct {
	Size        int64
	Concurrency int
	Requests    int // at least one per client
	Reused      bool
	// Seed, when non-zero, replaces the scenario's.
	Seed uint64
	// Scheduler, CC and PM, when non-empty, replace the scenario's.
	Scheduler, CC, PM string
	// Timeout bounds the run in virtual time (default 2 minutes, as
	// `mptcp perf web` bounds a cell): requests not done by then fail.
	Timeout time.Duration
	// Pcap, if set, receives a capture of every packet the client sends
	// and receives, on all its paths.
	Pcap io.Writer
	// Pacing paces both stacks' subflows, as mptcp.Config.Pacing does.
	// By default they send what the window allows at once, as our stack
	// on a TUN device does by default (mptcp sim's bulk runs pace).
	Pacing bool
}

// WebResult is what a web-shaped workload measured, in virtual time.
type WebResult struct {
	// Requests holds the requests that ended, in that order: completed,
	// failed, or cut by the timeout (those a client had not started by
	// then count in Failed only).
	Requests []WebRequest
	// Failed counts the requests that did not complete; FirstError is
	// the first one's reason.
	Failed     int
	FirstError string
	// Elapsed runs from the first dial to the last request's end.
	Elapsed time.Duration
	// Client and Server are the stacks' non-zero MIB counters.
	Client, Server map[string]uint64
	// Competitors are the scenario's competing TCP flows, which ran from
	// the first dial to the end, with the bytes each received.
	Competitors []WebCompetitor
}

// WebCompetitor is a competing flow of a web-shaped run.
type WebCompetitor struct {
	Name  string
	Bytes int64
}

// WebRequest is one request of a web-shaped workload.
type WebRequest struct {
	// Client is the client that made it, 0 to Concurrency-1.
	Client int
	// Start is its dial (new connection) or its write (reused one),
	// from the first dial; FirstByte and Done are from Start, FirstByte
	// zero if no byte of the answer arrived, Done zero if it failed.
	Start, FirstByte, Done time.Duration
	// Err says why it failed.
	Err string
	// Subflows are those of the server's connection that answered, with
	// what each sent during the request (none if the server never
	// accepted the connection).
	Subflows []WebSubflow
}

// WebSubflow is what one subflow of the answering connection sent during
// a request.
type WebSubflow struct {
	// Path is the scenario's name of the client's path the subflow is on.
	Path string
	// Bytes counts the payload it sent, retransmissions included, and
	// Retransmits the segments it sent again.
	Bytes, Retransmits uint64
}

// Completed returns the completion and first-byte times of the requests
// that completed, in the order they ended.
func (r *WebResult) Completed() (done, firstByte []time.Duration) {
	for _, q := range r.Requests {
		if q.Err == "" {
			done = append(done, q.Done)
			firstByte = append(firstByte, q.FirstByte)
		}
	}
	return done, firstByte
}

// webHeaderLen and webKeepOpen are `mptcp perf web`'s request: an 8-byte
// big-endian size, its top bit asking the server to keep the connection.
const (
	webHeaderLen = 8
	webKeepOpen  = 1 << 63
	// webWriteChunk is the server's write size, as `mptcp perf web`'s.
	webWriteChunk = 32 << 10
)

// web is one run of a web-shaped workload.
type web struct {
	o              WebOptions
	sim            *netsim.Sim
	top            *scenario.Topology
	client, server *core.Stack
	pat            pattern
	scratch        []byte
	res            WebResult
	clients        []*webClient
	active         int // clients still making requests
	// serving finds the server's side of a client's connection, by the
	// client's address.
	serving map[netip.AddrPort]*webServer
	sc      *scenario.Scenario // as run, with its paths' names
	bulks   []*webBulk         // the scenario's competitors
}

// Web runs a web-shaped workload on the scenario's paths with the real
// stack at both ends, the client dialling from its first path's address
// (the path manager opens the others), and returns every request's
// timings. An error means the run could not be set up.
func Web(sc *scenario.Scenario, o WebOptions) (*WebResult, error) {
	if err := sc.Simulable(); err != nil {
		return nil, err
	}
	sc, err := withPolicies(sc, o.Scheduler, o.CC, o.PM)
	if err != nil {
		return nil, err
	}
	if o.Size <= 0 || o.Concurrency <= 0 {
		return nil, fmt.Errorf("simrun: web: size %d and concurrency %d must be positive", o.Size, o.Concurrency)
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	seed := sc.Seed
	if o.Seed != 0 {
		seed = o.Seed
	}
	w := &web{o: o, sim: netsim.New(seed), pat: newPattern(seed), scratch: make([]byte, chunk)}
	if err := w.setup(sc); err != nil {
		return nil, err
	}
	per := (max(o.Requests, o.Concurrency) + o.Concurrency - 1) / o.Concurrency
	w.active = o.Concurrency
	for i := range o.Concurrency {
		k := &webClient{w: w, id: i, left: per}
		w.clients = append(w.clients, k)
		w.sim.Schedule(netsim.Epoch, k.next)
	}
	w.sim.RunUntil(epoch(o.Timeout))
	if err := w.sim.Err(); err != nil {
		return nil, fmt.Errorf("simulation stopped: %w", err)
	}
	if err := w.sim.CaptureErr(); err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	if w.active > 0 {
		w.res.Elapsed = o.Timeout
		cut := fmt.Errorf("not done after %v", o.Timeout)
		for _, k := range w.clients {
			if k.left > 0 {
				k.record(cut.Error()) // the request in progress
			}
			w.res.Failed += k.left
		}
		w.fail(cut)
	}
	w.res.Client, w.res.Server = nonZero(w.client.MIB()), nonZero(w.server.MIB())
	for _, b := range w.bulks {
		w.res.Competitors = append(w.res.Competitors, WebCompetitor{Name: b.name, Bytes: b.got})
	}
	return &w.res, nil
}

func (w *web) setup(sc *scenario.Scenario) error {
	top, err := sc.Build(w.sim)
	if err != nil {
		return err
	}
	w.top = top
	w.sc = sc
	w.serving = map[netip.AddrPort]*webServer{}
	if w.o.Pcap != nil {
		if err := capture(w.o.Pcap, top.Client); err != nil {
			return err
		}
	}
	cfg := core.Config{Scheduler: sc.Scheduler, CongestionControl: sc.CC, PathManager: sc.PM}
	cfg.TCP.DisablePacing = !w.o.Pacing
	if w.client, err = newStackOn(top.Client, cfg, top.ClientAddrs...); err != nil {
		return err
	}
	if len(sc.Competitors) == 0 {
		w.server, err = newStackOn(top.Server, cfg, top.ServerAddr)
	} else {
		w.server, err = w.withCompetitors(sc, cfg)
	}
	if err != nil {
		return err
	}
	ln, err := w.server.Listen(netip.AddrPortFrom(top.ServerAddr, Port))
	if err != nil {
		return fmt.Errorf("server listen: %w", err)
	}
	ln.SetNotify(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // ErrWouldBlock: no more for now
			}
			s := &webServer{w: w, c: c, counted: map[int]WebSubflow{}}
			w.serving[c.RemoteAddr()] = s
			c.SetNotify(s.pump)
			s.pump()
		}
	})
	return nil
}

// withCompetitors makes the server's stack for a scenario with
// competitors, and starts them at the first dial: each receives the
// pattern from its own server stack for the whole run.
func (w *web) withCompetitors(sc *scenario.Scenario, cfg core.Config) (*core.Stack, error) {
	srv, err := stackOn(w.top.Server, cfg, w.top.ServerAddr)
	if err != nil {
		return nil, err
	}
	d := newDemux(srv)
	for _, c := range sc.Competitors {
		w.bulks = append(w.bulks, &webBulk{w: w, name: c.Name})
	}
	ends := func(i int, c *core.Conn, send bool) func() {
		b := w.bulks[i]
		if send {
			b.snd = c
		} else {
			b.rcv, b.host = c, w.top.Competitors[i].Host
		}
		b.pump()
		return b.pump
	}
	if _, err := startCompetitors(w.sim, sc, w.top, d, netsim.Epoch, ends, w.fail); err != nil {
		return nil, err
	}
	w.top.Server.SetStack(d)
	return srv, nil
}

// webBulk is a competitor's flow beside the requests: its server writes
// the pattern for as long as the run lasts, and the competitor reads and
// checks it.
type webBulk struct {
	w         *web
	name      string
	snd, rcv  *core.Conn
	host      *netsim.Host // the competitor's
	sent, got int64
}

func (b *webBulk) pump() {
	w := b.w
	if b.snd != nil {
		wrote := false
		for {
			n, _ := b.snd.Write(w.pat.at(uint64(b.sent), chunk))
			if n == 0 {
				break
			}
			b.sent += int64(n)
			wrote = true
		}
		if wrote {
			w.top.Server.Wake()
		}
	}
	if b.rcv != nil {
		read := false
		for {
			n, _ := b.rcv.Read(w.scratch)
			if n == 0 {
				break
			}
			if !w.pat.check(w.scratch[:n], uint64(b.got)) {
				w.fail(fmt.Errorf("competitor %s: bytes %d..%d differ from those sent", b.name, b.got, b.got+int64(n)))
			}
			b.got += int64(n)
			read = true
		}
		if read {
			b.host.Wake()
		}
	}
}

func (w *web) fail(err error) {
	if w.res.FirstError == "" {
		w.res.FirstError = err.Error()
	}
}

// webServer answers the requests of one connection.
type webServer struct {
	w          *web
	c          *core.Conn
	hdr        [webHeaderLen]byte
	have       int   // header bytes read
	size, sent int64 // the answer being written
	keep       bool
	answering  bool
	closed     bool
	// counted is what each subflow, by ID, had sent when the last
	// request on the connection ended.
	counted map[int]WebSubflow
}

// sentSince returns what each subflow sent since the last call, which
// ended the connection's previous request.
func (s *webServer) sentSince() []WebSubflow {
	var out []WebSubflow
	for _, sf := range s.c.Info().Subflows {
		now := WebSubflow{Path: pathName(s.w.sc, s.w.top, sf.Remote.Addr()), Bytes: sf.BytesSent, Retransmits: sf.Retransmits}
		was := s.counted[sf.ID]
		s.counted[sf.ID] = now
		now.Bytes -= was.Bytes
		now.Retransmits -= was.Retransmits
		out = append(out, now)
	}
	return out
}

// pump reads requests and writes their answers as far as the stack
// takes them; the connection's notification calls it again.
func (s *webServer) pump() {
	for !s.closed {
		if !s.answering && !s.readHeader() {
			return
		}
		for s.sent < s.size {
			n := int(min(webWriteChunk, s.size-s.sent))
			m, err := s.c.Write(s.w.pat.at(uint64(s.sent), n))
			s.sent += int64(m)
			if err != nil {
				s.close()
				return
			}
			if m < n {
				s.w.top.Server.Wake()
				return
			}
		}
		s.answering = false
		if !s.keep {
			s.close()
		}
		s.w.top.Server.Wake()
	}
}

// readHeader reads the next request and reports whether it is complete.
func (s *webServer) readHeader() bool {
	for s.have < webHeaderLen {
		n, err := s.c.Read(s.hdr[s.have:])
		s.have += n
		if errors.Is(err, core.ErrWouldBlock) {
			return false
		}
		if err != nil { // EOF: the client is done with the connection
			s.close()
			return false
		}
	}
	h := binary.BigEndian.Uint64(s.hdr[:])
	s.size, s.keep = int64(h&^webKeepOpen), h&webKeepOpen != 0
	s.have, s.sent, s.answering = 0, 0, true
	return true
}

func (s *webServer) close() {
	s.closed = true
	_ = s.c.Close()
	s.w.top.Server.Wake()
}

// webClient makes its share of the requests one after another.
type webClient struct {
	w     *web
	id    int
	left  int // requests still to make
	c     *core.Conn
	start time.Duration // of the request: its dial or its write
	asked bool          // the request is written
	warm  bool          // the request opens a reused connection: not counted
	got   int64
	first time.Duration // first byte, from start
}

// next starts the client's next request, on a new connection unless it
// keeps one.
func (k *webClient) next() {
	w := k.w
	if k.left == 0 {
		if k.c != nil {
			delete(w.serving, k.c.LocalAddr())
			k.c.SetNotify(nil)
			_ = k.c.Close()
			k.c = nil
			w.top.Client.Wake()
		}
		w.active--
		w.res.Elapsed = max(w.res.Elapsed, w.sim.Elapsed())
		if w.active == 0 {
			w.sim.Halt()
		}
		return
	}
	k.start, k.asked, k.got, k.first = w.sim.Elapsed(), false, 0, 0
	if k.c == nil {
		c, err := w.client.Dial(w.sim.Now(), w.top.ClientAddrs[0], netip.AddrPortFrom(w.top.ServerAddr, Port), core.ConnOptions{})
		if err != nil {
			k.failed(fmt.Errorf("dial: %w", err))
			return
		}
		k.c, k.warm = c, w.o.Reused
	}
	k.c.SetNotify(k.pump)
	k.pump()
	w.top.Client.Wake()
}

// pump writes the request once the connection is established (as a
// client's dial returns only then) and reads the answer.
func (k *webClient) pump() {
	if k.c == nil {
		return
	}
	if !k.asked {
		switch k.c.State() {
		case core.StateConnecting:
			return
		case core.StateClosed:
			k.failed(fmt.Errorf("dial: %w", connErr(k.c)))
			return
		}
		var hdr [webHeaderLen]byte
		h := uint64(k.w.o.Size)
		if k.w.o.Reused {
			h |= webKeepOpen
		}
		binary.BigEndian.PutUint64(hdr[:], h)
		if n, err := k.c.Write(hdr[:]); n != webHeaderLen || err != nil {
			k.failed(fmt.Errorf("request: wrote %d bytes: %v", n, err))
			return
		}
		k.asked = true
		k.w.top.Client.Wake()
	}
	k.read()
}

// read takes what arrived of the answer, verifying every byte.
func (k *webClient) read() {
	w := k.w
	for {
		n, err := k.c.Read(w.scratch)
		if n > 0 {
			if k.got == 0 {
				k.first = w.sim.Elapsed() - k.start
			}
			if k.got+int64(n) > w.o.Size || !w.pat.check(w.scratch[:n], uint64(k.got)) {
				k.failed(fmt.Errorf("bytes %d..%d differ from those sent", k.got, k.got+int64(n)))
				return
			}
			k.got += int64(n)
			w.top.Client.Wake()
			if w.o.Reused && k.got == w.o.Size {
				k.done()
				return
			}
			continue
		}
		switch {
		case errors.Is(err, core.ErrWouldBlock):
		case err == io.EOF && !w.o.Reused && k.got == w.o.Size:
			k.done()
		case err == io.EOF:
			k.failed(fmt.Errorf("EOF after %d of %d bytes", k.got, w.o.Size))
		default:
			k.failed(fmt.Errorf("after %d of %d bytes: %w", k.got, w.o.Size, err))
		}
		return
	}
}

// done records the request and starts the next one.
func (k *webClient) done() {
	w := k.w
	if k.warm {
		if s := k.serving(); s != nil {
			s.sentSince() // the uncounted request's share
		}
	} else {
		k.record("")
		k.left--
	}
	k.warm = false
	k.c.SetNotify(nil) // until the next request
	if !w.o.Reused {
		_ = k.c.Close()
		k.c = nil
	}
	w.sim.Schedule(w.sim.Now(), k.next) // not from inside the stack's notification
}

// failed counts the request as failed, drops its connection and starts
// the next one.
func (k *webClient) failed(err error) {
	w := k.w
	w.res.Failed++
	w.fail(err)
	k.record(err.Error())
	k.left--
	k.warm = false
	if k.c != nil {
		k.c.SetNotify(nil)
		k.c.Abort()
		k.c = nil
	}
	w.sim.Schedule(w.sim.Now(), k.next)
}

// record adds the request that ends now, failed for reason errText if
// that is not empty, with what the answering connection's subflows sent.
func (k *webClient) record(errText string) {
	w := k.w
	q := WebRequest{Client: k.id, Start: k.start, FirstByte: k.first, Err: errText}
	if errText == "" {
		q.Done = w.sim.Elapsed() - k.start
	}
	if s := k.serving(); s != nil {
		q.Subflows = s.sentSince()
		if errText != "" || !w.o.Reused {
			delete(w.serving, k.c.LocalAddr()) // the connection's last request
		}
	}
	w.res.Requests = append(w.res.Requests, q)
}

// serving returns the server's side of the client's connection, or nil.
func (k *webClient) serving() *webServer {
	if k.c == nil {
		return nil
	}
	return k.w.serving[k.c.LocalAddr()]
}

// connErr is why c closed.
func connErr(c *core.Conn) error {
	if err := c.Err(); err != nil {
		return err
	}
	return core.ErrClosed
}
