package observe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/internal/simtest"
	"github.com/mptcp-go/mptcp/observe"
)

// midTransfer returns a simulated client with two paths downloading from
// a server whose events a Recorder keeps, stopped in the middle of the
// transfer.
func midTransfer(t *testing.T) (*simtest.Net, *observe.Recorder) {
	t.Helper()
	rec := observe.NewRecorder(0)
	n, err := simtest.NewNet(11, []simtest.Path{{Rate: 20e6, Delay: 10 * time.Millisecond}, {Rate: 10e6, Delay: 25 * time.Millisecond}},
		simtest.Options{ServerAddrs: 1, Server: func(c *core.Config) { c.Events = rec.Sink }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.StartTransfer(0, 8<<20, core.ConnOptions{}); err != nil {
		t.Fatal(err)
	}
	n.Sim.RunFor(time.Second)
	return n, rec
}

func get(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the event stream returns after the recent events
	req := httptest.NewRequest("GET", path, nil).WithContext(ctx)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 200 {
		t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
	}
	return w.Body.String()
}

func TestHandler(t *testing.T) {
	n, rec := midTransfer(t)
	h := observe.Handler(observe.CoreSource(n.SS, &sync.Mutex{}), observe.Options{Recorder: rec})

	var snap observe.Snapshot
	if err := json.Unmarshal([]byte(get(t, h, "/conns.json")), &snap); err != nil {
		t.Fatal(err)
	}
	if len(snap.Conns) != 1 || len(snap.Conns[0].Subflows) != 2 {
		t.Fatalf("snapshot %+v: want one connection with two subflows", snap.Conns)
	}
	var ss bytes.Buffer
	if err := observe.Format(&ss, snap.Sockets, observe.FormatOptions{Info: true}); err != nil {
		t.Fatal(err)
	}
	out := ss.String()
	t.Logf("ss:\n%s", out)
	for _, want := range []string{"Netid State", "mptcp ESTAB", "tcp   ESTAB", "\t subflows:1 ", "subflows_max:", "remote_key token:",
		"tcp-ulp-mptcp flags:Mec token:0000(id:0)/", "tcp-ulp-mptcp flags:Jec ", " cubic ", " rtt:", " cwnd:", " bytes_acked:", "recent_sched:"} {
		if !strings.Contains(out, want) {
			t.Errorf("ss listing lacks %q", want)
		}
	}

	mib := get(t, h, "/mib")
	if !strings.Contains(mib, "MPTcpExtMPCapableSYNRX") || !strings.Contains(mib, "MPTcpExtMPJoinAckRx") {
		t.Errorf("/mib:\n%s", mib)
	}
	metrics := get(t, h, "/metrics")
	for _, want := range []string{"mptcp_MPTcpExtMPCapableSYNRX 1", "mptcp_MPTcpExtMPCurrEstab 1", "mptcp_subflow_rtt_seconds{", "mptcp_subflow_throughput_bytes_per_second{", "mptcp_subflow_loss_ratio{"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	events := get(t, h, "/events")
	t.Logf("events:\n%s", events)
	for _, want := range []string{"[LISTENER_CREATED] saddr4=0.0.0.0 sport=80", "[         CREATED] token=", "[     ESTABLISHED] token=",
		"[  SF_ESTABLISHED] token=", " server_side=1"} {
		if !strings.Contains(events, want) {
			t.Errorf("/events lacks %q", want)
		}
	}
	js := get(t, h, "/events?json")
	if !strings.Contains(js, `{"type":"sf_established","time":`) || !strings.Contains(js, `"saddr":"10.9.0.2"`) {
		t.Errorf("/events?json:\n%s", js)
	}
	if p := get(t, h, "/"); !strings.Contains(p, `<svg id="tput"`) || strings.Contains(p, "http://") || strings.Contains(p, "https://") {
		t.Errorf("live page missing its chart or linking outside")
	}
}

// TestRecorderSinkAllocs checks that recording an event allocates
// nothing once the connection's scheduling ring exists.
func TestRecorderSinkAllocs(t *testing.T) {
	rec := observe.NewRecorder(8)
	sub := rec.Subscribe(1, true)
	defer sub.Close()
	ev := core.Event{Type: core.EventScheduled, Token: 1, Subflow: 2, Len: 1400}
	rec.Sink(ev)
	if a := testing.AllocsPerRun(100, func() {
		rec.Sink(ev)
		rec.Sink(core.Event{Type: core.EventSubEstablished, Token: 1})
	}); a != 0 {
		t.Errorf("Sink allocates %v times per event", a)
	}
	if got := rec.Schedule(1); len(got) != 16 || got[0] != 2 {
		t.Errorf("Schedule(1) = %v", got)
	}
	if sub.Dropped() == 0 {
		t.Error("a full subscription dropped nothing")
	}
}
