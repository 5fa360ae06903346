package observe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/internal/simtest"
	"github.com/mptcp-go/mptcp/observe"
)

// TestTracerMergesSchedule: contiguous mappings on one subflow are one
// "sched" line; a change of subflow or a gap starts another.
func TestTracerMergesSchedule(t *testing.T) {
	var b bytes.Buffer
	start := time.Unix(100, 0)
	tr := observe.NewTracer(&b, 7, start)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	for _, ev := range []core.Event{
		{Type: core.EventCreated, Token: 7, Time: at(1), Subflow: -1},
		{Type: core.EventScheduled, Token: 7, Time: at(2), Subflow: 0, DSN: 1000, Len: 100},
		{Type: core.EventScheduled, Token: 7, Time: at(3), Subflow: 0, DSN: 1100, Len: 100},
		{Type: core.EventScheduled, Token: 9, Time: at(3), Subflow: 0, DSN: 1, Len: 1}, // another connection
		{Type: core.EventScheduled, Token: 7, Time: at(4), Subflow: 1, DSN: 1200, Len: 50},
		{Type: core.EventScheduled, Token: 7, Time: at(5), Subflow: 1, DSN: 1300, Len: 50},
	} {
		tr.Event(ev)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	recs, err := observe.ReadTrace(&b)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		s := r.Kind
		if r.Kind == observe.TraceKindSched {
			s += " " + strings.Join([]string{itoa(*r.Subflow), r.DSN, itoa(int(r.Len)), itoa(r.N)}, "/")
		}
		got = append(got, s)
	}
	want := "trace,event,sched 0/3e8/200/2,sched 1/4b0/50/1,sched 1/514/50/1"
	if strings.Join(got, ",") != want {
		t.Fatalf("records %v, want %s", got, want)
	}
	if recs[1].T != 0.001 || recs[0].Token != "00000007" {
		t.Errorf("event at t=%g, header token %q", recs[1].T, recs[0].Token)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestReadTraceErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":                    "empty trace",
		"{\"t\":1}\n":         "record 1: no \"kind\"",
		"{\"kind\":\"x\"}\n{": "record 2",
	} {
		if _, err := observe.ReadTrace(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ReadTrace(%q) = %v, want %q", in, err, want)
		}
	}
}

// TestReadTraceFile: the errors of a trace file name the file.
func TestReadTraceFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "1.jsonl")
	if _, err := observe.ReadTraceFile(name); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
	if err := os.WriteFile(name, []byte("{\"t\":1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := observe.ReadTraceFile(name); err == nil || !strings.HasPrefix(err.Error(), name+": trace record 1") {
		t.Errorf("bad file: %v, want an error naming %s", err, name)
	}
}

// TestTraceDir: a running stack's connection gets a trace file named by
// its token, with its events, scheduling decisions and samples.
func TestTraceDir(t *testing.T) {
	rec := observe.NewRecorder(0)
	n, err := simtest.NewNet(3, []simtest.Path{{Rate: 20e6, Delay: 10 * time.Millisecond}, {Rate: 10e6, Delay: 20 * time.Millisecond}},
		simtest.Options{ServerAddrs: 1, Server: func(c *core.Config) { c.Events = rec.Sink }})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	dir := t.TempDir()
	td, err := observe.NewTraceDir(dir, observe.CoreSource(n.SS, &mu), rec, observe.TraceDirOptions{Interval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- td.Run(ctx) }()
	mu.Lock()
	_, err = n.StartTransfer(0, 8<<20, core.ConnOptions{})
	n.Sim.RunFor(500 * time.Millisecond)
	mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	// The transfer is paused mid-way: wait for a sample of it.
	var name string
	for ctx.Err() == nil {
		files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
		if len(files) == 1 {
			if b, _ := os.ReadFile(files[0]); bytes.Contains(b, []byte(`"kind":"conn"`)) {
				name = files[0]
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if name == "" {
		t.Fatal("no trace with a sample within 20 s")
	}
	recs, err := observe.ReadTraceFile(name)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, r := range recs {
		kinds[r.Kind]++
	}
	if recs[0].Kind != observe.TraceKindTrace || recs[0].Side != "server" || filepath.Base(name) != recs[0].Token+".jsonl" {
		t.Errorf("file %s starts with %+v", name, recs[0])
	}
	if kinds["event"] < 2 || kinds["sched"] == 0 || kinds["sample"] < 2 {
		t.Errorf("records by kind %v: want the events, decisions and both subflows' samples", kinds)
	}
}

// listed is a Source that lists fixed connections.
type listed []core.ConnInfo

func (l listed) Conns() []core.ConnInfo { return l }
func (l listed) MIB() core.MIBSnapshot  { return core.MIBSnapshot{} }

// traceOne runs a TraceDir over src with samples every interval, lets
// events send the events of connection token (CREATED first, CLOSED
// last), and returns the path of its trace once CLOSED is in it.
func traceOne(t *testing.T, src observe.Source, interval time.Duration, token uint32, events func(rec *observe.Recorder, start time.Time)) string {
	t.Helper()
	rec := observe.NewRecorder(0)
	dir := t.TempDir()
	td, err := observe.NewTraceDir(dir, src, rec, observe.TraceDirOptions{Interval: interval})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- td.Run(ctx) }()
	events(rec, time.Unix(1e9, 0))
	name := filepath.Join(dir, fmt.Sprintf("%08x.jsonl", token))
	for ctx.Err() == nil {
		if b, _ := os.ReadFile(name); bytes.Contains(b, []byte(`"type":"closed"`)) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return name
}

// TestTraceDirKeepsUnlistedConnection: a connection whose events come
// before the stack lists it keeps its trace across samples that do not
// list it; its file was closed and started again without its first
// events.
func TestTraceDirKeepsUnlistedConnection(t *testing.T) {
	const token = 0x0badcafe
	name := traceOne(t, listed{}, time.Millisecond, token, func(rec *observe.Recorder, start time.Time) {
		rec.Sink(core.Event{Type: core.EventCreated, Time: start, Token: token, Server: true, Subflow: -1})
		// Samples that do not list it (without them the test proves
		// nothing, but cannot fail).
		time.Sleep(50 * time.Millisecond)
		rec.Sink(core.Event{Type: core.EventClosed, Time: start.Add(time.Second), Token: token, Server: true, Subflow: -1})
	})
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"type":"created"`)) {
		t.Fatalf("the trace lost the CREATED event:\n%s", b)
	}
}

// TestTraceDirSampleAtClose: a connection that closes before the first
// sample is due still gets one, its state at CLOSED.
func TestTraceDirSampleAtClose(t *testing.T) {
	const token = 0x1234abcd
	src := listed{{LocalToken: token, State: core.StateClosed, Subflows: []core.SubflowInfo{{ID: 0, Initial: true,
		Local: netip.MustParseAddrPort("10.0.0.1:80"), Remote: netip.MustParseAddrPort("10.0.0.2:4000")}}}}
	name := traceOne(t, src, time.Hour, token, func(rec *observe.Recorder, start time.Time) {
		rec.Sink(core.Event{Type: core.EventCreated, Time: start, Token: token, Server: true, Subflow: -1})
		rec.Sink(core.Event{Type: core.EventClosed, Time: start.Add(30 * time.Millisecond), Token: token, Server: true, Subflow: -1})
	})
	recs, err := observe.ReadTraceFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var samples int
	for _, r := range recs {
		if r.Kind == observe.TraceKindSample {
			samples++
			if r.T != 0.03 || r.Local != "10.0.0.1:80" {
				t.Errorf("sample %+v, want the subflow at t=0.03", r)
			}
		}
	}
	if samples != 1 {
		t.Errorf("%d samples, want the one at CLOSED", samples)
	}
}
