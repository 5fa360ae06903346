package observe

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mptcp-go/mptcp/core"
)

// A trace is one connection's life as JSON lines, one record per line,
// each with "t" (seconds since the trace began) and "kind":
//
//   - "trace": the first line: the connection's token, side and the
//     absolute start time.
//   - "event": a kernel event (or FALLBACK), with the keys of
//     MarshalEvent under "event".
//   - "sched": the scheduler's decisions: n consecutive mappings put on
//     one subflow, covering len bytes from data sequence number dsn
//     (contiguous mappings on the same subflow are merged into one line).
//   - "sample": one subflow at a sampling instant: state, cwnd, bytes in
//     flight, smoothed RTT, data-level and TCP-level bytes, segments,
//     retransmissions, delivery rate.
//   - "conn": the connection at a sampling instant: its policies,
//     data-level bytes and buffers.
//
// The simulator writes traces in virtual time (the same bytes for the
// same seed); TraceDir writes them for a running stack.

// Trace record kinds.
const (
	TraceKindTrace  = "trace"
	TraceKindEvent  = "event"
	TraceKindSched  = "sched"
	TraceKindSample = "sample"
	TraceKindConn   = "conn"
)

// TraceRecord is one line of a trace; which fields are set depends on
// Kind. ReadTrace parses a trace into these.
type TraceRecord struct {
	T    float64 `json:"t"`
	Kind string  `json:"kind"`

	// "trace"
	Token string     `json:"token,omitempty"`
	Start *time.Time `json:"start,omitempty"`
	Side  string     `json:"side,omitempty"` // "client" or "server"
	// "conn": the connection's policies.
	Scheduler string `json:"scheduler,omitempty"`
	CC        string `json:"cc,omitempty"`
	PM        string `json:"pm,omitempty"`

	// "event"
	Event json.RawMessage `json:"event,omitempty"`

	// "sched" and "sample": the subflow's stack ID.
	Subflow *int `json:"subflow,omitempty"`
	// "sched"
	DSN string `json:"dsn,omitempty"` // hex, as SCHEDULED events print it
	Len int64  `json:"len,omitempty"`
	N   int    `json:"n,omitempty"`

	// "sample"
	Local        string  `json:"local,omitempty"`
	Remote       string  `json:"remote,omitempty"`
	State        string  `json:"state,omitempty"`
	Backup       bool    `json:"backup,omitempty"`
	Cwnd         int     `json:"cwnd,omitempty"`     // bytes
	InFlight     int     `json:"inflight,omitempty"` // bytes
	SRTTMs       float64 `json:"srtt_ms,omitempty"`
	RTTVarMs     float64 `json:"rttvar_ms,omitempty"`
	SendWindow   int     `json:"snd_wnd,omitempty"`
	TCPSent      uint64  `json:"tcp_bytes_sent,omitempty"` // retransmissions included
	TCPAcked     uint64  `json:"tcp_bytes_acked,omitempty"`
	TCPRetrans   uint64  `json:"tcp_bytes_retrans,omitempty"`
	SegsOut      uint64  `json:"segs_out,omitempty"`
	SegsIn       uint64  `json:"segs_in,omitempty"`
	Retransmits  uint64  `json:"retransmits,omitempty"`
	DeliveryRate float64 `json:"delivery_rate,omitempty"` // bytes per second

	// "sample" (the subflow's share) and "conn": data-level payload.
	BytesSent     uint64 `json:"bytes_sent,omitempty"`
	BytesReceived uint64 `json:"bytes_received,omitempty"`
	// "conn"
	BytesAcked      uint64 `json:"bytes_acked,omitempty"`
	SendBuffered    int    `json:"send_buffered,omitempty"`
	ReceiveBuffer   int    `json:"rcv_buffer,omitempty"`
	ReceiveBuffered int    `json:"rcv_buffered,omitempty"`
	Subflows        int    `json:"subflows,omitempty"`
}

// Tracer writes the trace of one connection, or of every connection of
// a stack when its token is 0 (the simulator's stacks hold one). Feed it
// the stack's events (Event) and periodic snapshots (Sample) from one
// goroutine. It writes nothing per packet: scheduling decisions are
// merged until the subflow changes or a sample is taken.
type Tracer struct {
	w      io.Writer
	enc    *json.Encoder
	token  uint32
	start  time.Time
	begun  bool
	run    schedRun
	err    error
	closed bool
}

// schedRun is the scheduling decisions not yet written.
type schedRun struct {
	t       time.Time
	subflow int
	dsn     uint64
	len     int64
	n       int
}

// NewTracer returns a tracer writing to w the connection with local
// token (0: every connection it is handed) from start on.
func NewTracer(w io.Writer, token uint32, start time.Time) *Tracer {
	return &Tracer{w: w, enc: json.NewEncoder(w), token: token, start: start}
}

// Err returns the first write error.
func (t *Tracer) Err() error { return t.err }

func (t *Tracer) since(now time.Time) float64 {
	// Microsecond resolution keeps the lines short and exact.
	return float64(now.Sub(t.start).Microseconds()) / 1e6
}

func (t *Tracer) write(r *TraceRecord) {
	if t.err == nil {
		t.err = t.enc.Encode(r)
	}
}

// begin writes the first line, before the first event or sample.
func (t *Tracer) begin(token uint32, server bool) {
	if t.begun {
		return
	}
	t.begun = true
	start := t.start.UTC()
	side := "client"
	if server {
		side = "server"
	}
	t.write(&TraceRecord{Kind: TraceKindTrace, Token: fmt.Sprintf("%08x", token), Start: &start, Side: side})
}

// Event records ev if it concerns the traced connection: kernel events
// and fallbacks as lines, scheduling decisions merged.
func (t *Tracer) Event(ev core.Event) {
	if t.closed || ev.Token == 0 || (t.token != 0 && ev.Token != t.token) {
		return
	}
	t.begin(ev.Token, ev.Server)
	if ev.Type == core.EventScheduled {
		r := &t.run
		if r.n > 0 && r.subflow == ev.Subflow && r.dsn+uint64(r.len) == ev.DSN {
			r.len += int64(ev.Len)
			r.n++
			return
		}
		t.flushSched()
		*r = schedRun{t: ev.Time, subflow: ev.Subflow, dsn: ev.DSN, len: int64(ev.Len), n: 1}
		return
	}
	t.flushSched()
	b, err := MarshalEvent(ev)
	if err != nil {
		t.err = err
		return
	}
	t.write(&TraceRecord{T: t.since(ev.Time), Kind: TraceKindEvent, Event: b})
}

func (t *Tracer) flushSched() {
	r := &t.run
	if r.n == 0 {
		return
	}
	id := r.subflow
	t.write(&TraceRecord{T: t.since(r.t), Kind: TraceKindSched, Subflow: &id, DSN: fmt.Sprintf("%x", r.dsn), Len: r.len, N: r.n})
	r.n = 0
}

// Sample records the connection ci as it is at now: one line per open
// subflow and one for the connection.
func (t *Tracer) Sample(now time.Time, ci *core.ConnInfo) {
	if t.closed {
		return
	}
	t.begin(ci.LocalToken, ci.Server)
	t.flushSched()
	ts := t.since(now)
	for i := range ci.Subflows {
		sf := &ci.Subflows[i]
		id := sf.ID
		t.write(&TraceRecord{T: ts, Kind: TraceKindSample, Subflow: &id, Local: sf.Local.String(), Remote: sf.Remote.String(),
			State: sf.State.String(), Backup: sf.Backup, Cwnd: sf.Cwnd, InFlight: sf.InFlight,
			SRTTMs: millis(sf.SRTT), RTTVarMs: millis(sf.RTTVar), SendWindow: sf.TCP.SendWindow,
			TCPSent: sf.TCP.BytesSent, TCPAcked: sf.TCP.BytesAcked, TCPRetrans: sf.TCP.BytesRetrans,
			SegsOut: sf.TCP.SegsOut, SegsIn: sf.TCP.SegsIn, Retransmits: sf.Retransmits, DeliveryRate: sf.DeliveryRate,
			BytesSent: sf.BytesSent, BytesReceived: sf.BytesReceived})
	}
	t.write(&TraceRecord{T: ts, Kind: TraceKindConn, State: ci.State.String(), BytesSent: ci.BytesSent, BytesReceived: ci.BytesReceived,
		BytesAcked: ci.BytesAcked, SendBuffered: ci.SendBuffered, ReceiveBuffer: ci.ReceiveBuffer,
		ReceiveBuffered: ci.ReceiveBuffered, Subflows: len(ci.Subflows),
		Scheduler: ci.Scheduler, CC: ci.CongestionControl, PM: ci.PathManager})
}

// Close writes what is pending; later calls write nothing.
func (t *Tracer) Close() error {
	if !t.closed {
		t.flushSched()
		t.closed = true
	}
	return t.err
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }

// ReadTraceFile reads the trace in the file called name (one that
// TraceDir wrote, say); its errors name the file.
func ReadTraceFile(name string) ([]TraceRecord, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := ReadTrace(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return recs, nil
}

// ReadTrace parses a trace; a line that is not a record is an error
// naming the line.
func ReadTrace(r io.Reader) ([]TraceRecord, error) {
	dec := json.NewDecoder(r)
	var out []TraceRecord
	for line := 1; ; line++ {
		var rec TraceRecord
		if err := dec.Decode(&rec); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("trace record %d: %w", line, err)
		}
		if rec.Kind == "" {
			return nil, fmt.Errorf("trace record %d: no \"kind\"", line)
		}
		out = append(out, rec)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty trace")
	}
	return out, nil
}
