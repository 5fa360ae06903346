package simrun

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/observe"
	"github.com/mptcp-go/mptcp/scenario"
)

// TestTrace: the simulator's trace is the same bytes for the same seed,
// follows the data sender, and carries the events, the scheduler's
// decisions on both subflows and per-subflow samples whose bytes add up
// to what the run delivered; PlotTrace draws it.
func TestTrace(t *testing.T) {
	sc := builtin(t, "aggregate")
	sc.Transfer.Size = 2 << 20
	var traces [2]bytes.Buffer
	var res *Result
	for i := range traces {
		var err error
		res, err = Run(sc, Options{Duration: 3 * time.Second, Trace: &traces[i]})
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(traces[0].Bytes(), traces[1].Bytes()) {
		t.Fatal("two runs with the same seed wrote different traces")
	}
	recs, err := observe.ReadTrace(bytes.NewReader(traces[0].Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Kind != observe.TraceKindTrace || recs[0].Side != "server" {
		t.Fatalf("first record %+v, want the server's trace header (a download)", recs[0])
	}
	events := map[string]int{}
	schedBytes := map[int]int64{}
	lastSent := map[int]uint64{}
	for _, r := range recs {
		switch r.Kind {
		case observe.TraceKindEvent:
			var ev struct{ Type string }
			if err := json.Unmarshal(r.Event, &ev); err != nil {
				t.Fatal(err)
			}
			events[ev.Type]++
		case observe.TraceKindSched:
			schedBytes[*r.Subflow] += r.Len
		case observe.TraceKindSample:
			lastSent[*r.Subflow] = r.BytesSent
		}
	}
	for _, e := range []string{"created", "established", "sf_established", "closed"} {
		if events[e] == 0 {
			t.Errorf("no %s event in the trace (%v)", e, events)
		}
	}
	if len(schedBytes) < 2 {
		t.Errorf("scheduler decisions on %d subflows, want 2", len(schedBytes))
	}
	var sched, sent uint64
	for id, n := range schedBytes {
		sched += uint64(n)
		sent += lastSent[id]
	}
	// Every byte delivered was scheduled (reinjections may add more).
	if sched < uint64(res.BytesDelivered) || sent < uint64(res.BytesDelivered) {
		t.Errorf("scheduled %d and sampled %d bytes, delivered %d", sched, sent, res.BytesDelivered)
	}
	var img bytes.Buffer
	if err := PlotTrace(&img, recs, "svg"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(img.Bytes(), []byte("srtt (ms)")) || !bytes.Contains(img.Bytes(), []byte("[1] ")) {
		t.Error("the figure lacks the RTT panel or the second subflow")
	}
}

// TestTraceUpload: an upload is traced at the client.
func TestTraceUpload(t *testing.T) {
	sc := builtin(t, "aggregate")
	sc.Transfer.Direction = scenario.Upload
	var tr bytes.Buffer
	if _, err := Run(sc, Options{Duration: time.Second, Trace: &tr}); err != nil {
		t.Fatal(err)
	}
	recs, err := observe.ReadTrace(&tr)
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Side != "client" {
		t.Fatalf("header %+v, want the client's", recs[0])
	}
}
