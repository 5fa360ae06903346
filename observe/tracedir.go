package observe

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mptcp-go/mptcp/core"
)

// TraceDirOptions configure TraceDir.
type TraceDirOptions struct {
	// Interval is the time between samples (default 100 ms).
	Interval time.Duration
	// Buffer is how many events may wait for the writer (default 4096);
	// beyond it events are dropped and counted by the subscription.
	Buffer int
}

// TraceDir writes a trace of every connection of a running stack into a
// directory, one file per connection named by its local token
// (TOKEN.jsonl): the events come from a Recorder (install its Sink as the
// stack's Config.Events), the samples from the stack every interval. It
// writes on the goroutine that calls Run, never on the stack's.
type TraceDir struct {
	dir   string
	src   Source
	sub   *Subscription
	every time.Duration
	files map[uint32]*traceFile
	err   error
}

type traceFile struct {
	f      *os.File
	w      *bufio.Writer
	t      *Tracer
	done   bool // closed; kept until the stack forgets the connection
	seen   bool // listed by the latest sample
	listed bool // listed by a sample once: its absence means forgotten
}

// NewTraceDir creates dir if needed and subscribes to rec's events at
// once: the traces hold what happens from now on.
func NewTraceDir(dir string, src Source, rec *Recorder, o TraceDirOptions) (*TraceDir, error) {
	if o.Interval <= 0 {
		o.Interval = 100 * time.Millisecond
	}
	if o.Buffer <= 0 {
		o.Buffer = 4096
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("trace directory: %w", err)
	}
	return &TraceDir{dir: dir, src: src, sub: rec.Subscribe(o.Buffer, true), every: o.Interval, files: map[uint32]*traceFile{}}, nil
}

// Dropped returns how many events did not fit in the buffer and are
// missing from the traces.
func (d *TraceDir) Dropped() uint64 { return d.sub.Dropped() }

// Run writes the traces until ctx ends or a write fails, then closes
// the files and the subscription.
func (d *TraceDir) Run(ctx context.Context) error {
	defer d.sub.Close()
	defer d.closeAll()
	tick := time.NewTicker(d.every)
	defer tick.Stop()
	for d.err == nil {
		select {
		case <-ctx.Done():
			return d.err
		case ev := <-d.sub.C():
			if tf := d.file(ev.Token, ev.Time); tf != nil {
				tf.t.Event(ev)
				if ev.Type == core.EventClosed {
					d.lastSample(tf, ev)
					tf.done = true
					d.close(tf)
				}
			}
		case now := <-tick.C:
			d.sample(now, d.src.Conns())
		}
	}
	return d.err
}

// file returns the trace of connection token, opening it at first sight
// (nil for listener events and closed connections).
func (d *TraceDir) file(token uint32, now time.Time) *traceFile {
	if token == 0 || d.err != nil {
		return nil
	}
	if tf, ok := d.files[token]; ok {
		if tf.done {
			return nil
		}
		return tf
	}
	f, err := os.Create(filepath.Join(d.dir, fmt.Sprintf("%08x.jsonl", token)))
	if err != nil {
		d.err = fmt.Errorf("trace: %w", err)
		return nil
	}
	w := bufio.NewWriter(f)
	tf := &traceFile{f: f, w: w, t: NewTracer(w, token, now)}
	d.files[token] = tf
	return tf
}

// lastSample writes the closing connection's final state, when the stack
// still lists it, so that a connection shorter than the interval has one
// sample too.
func (d *TraceDir) lastSample(tf *traceFile, ev core.Event) {
	conns := d.src.Conns()
	for i := range conns {
		if conns[i].LocalToken == ev.Token {
			tf.t.Sample(ev.Time, &conns[i])
			return
		}
	}
}

// sample writes every listed connection and forgets the traces of
// connections the stack no longer lists.
func (d *TraceDir) sample(now time.Time, conns []core.ConnInfo) {
	for _, tf := range d.files {
		tf.seen = false
	}
	for i := range conns {
		ci := &conns[i]
		if tf := d.file(ci.LocalToken, now); tf != nil {
			tf.t.Sample(now, ci)
			tf.seen, tf.listed = true, true
			if err := tf.w.Flush(); err != nil && d.err == nil {
				d.err = fmt.Errorf("trace: %w", err)
			}
		} else if tf := d.files[ci.LocalToken]; tf != nil {
			tf.seen = true
		}
	}
	for token, tf := range d.files {
		// A connection whose events came before the stack lists it (a
		// server's, created with its first subflow) is not forgotten:
		// forgetting it would start its trace again, without them, at its
		// next event.
		if !tf.seen && (tf.listed || tf.done) {
			d.close(tf)
			delete(d.files, token)
		}
	}
}

func (d *TraceDir) close(tf *traceFile) {
	if tf.f == nil {
		return
	}
	err := tf.t.Close()
	if err == nil {
		err = tf.w.Flush()
	}
	if cerr := tf.f.Close(); err == nil {
		err = cerr
	}
	if err != nil && d.err == nil {
		d.err = fmt.Errorf("trace: %w", err)
	}
	tf.f = nil
}

func (d *TraceDir) closeAll() {
	for _, tf := range d.files {
		d.close(tf)
	}
}
