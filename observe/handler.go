package observe

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/pm"
)

// Source is what the debug endpoint looks at: a running stack. The root
// package's *mptcp.Stack is one; CoreSource adapts a core.Stack.
type Source interface {
	// Conns returns a snapshot of every connection.
	Conns() []core.ConnInfo
	// MIB returns the stack's MPTcpExt counters.
	MIB() core.MIBSnapshot
}

// Options configure a Handler.
type Options struct {
	// Recorder supplies the event stream and the scheduler's recent
	// choices; nil serves neither (install its Sink as the stack's
	// Config.Events to have them).
	Recorder *Recorder
	// Limits are the stack's path-manager limits, shown as ss -M shows
	// the kernel's (default pm.DefaultLimits).
	Limits pm.Limits
}

// Snapshot is what /conns.json serves: the connections as ConnInfo and as
// the lines of ss -Mti.
type Snapshot struct {
	Time    time.Time       `json:"time"`
	Conns   []core.ConnInfo `json:"conns"`
	Sockets []Socket        `json:"sockets"`
}

// The endpoint's paths.
const (
	PathPage    = "/"           // the live page
	PathConns   = "/conns.json" // Snapshot
	PathMIB     = "/mib"        // nstat-style counters (?json for JSON)
	PathEvents  = "/events"     // event stream (?json for JSON lines, ?all for scheduling decisions too)
	PathMetrics = "/metrics"    // Prometheus
)

// Handler returns the debug endpoint of a stack: an http.Handler to serve
// on a Unix socket or an address of the program's choice (Serve), never
// started by the stack itself.
func Handler(src Source, o Options) http.Handler {
	if o.Limits == (pm.Limits{}) {
		o.Limits = pm.DefaultLimits
	}
	h := &handler{src: src, o: o}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathConns, h.conns)
	mux.HandleFunc("GET "+PathMIB, h.mib)
	mux.HandleFunc("GET "+PathEvents, h.events)
	mux.Handle("GET "+PathMetrics, MetricsHandler(src))
	mux.HandleFunc("GET /{$}", page)
	return mux
}

type handler struct {
	src Source
	o   Options
}

// Snapshot returns the stack's connections as the endpoint serves them.
func (h *handler) snapshot() Snapshot {
	conns := h.src.Conns()
	var sched func(uint32) []int
	if h.o.Recorder != nil {
		sched = h.o.Recorder.Schedule
	}
	lim := Limits{Subflows: h.o.Limits.Subflows, AddAddrAccepted: h.o.Limits.AddAddrAccepted}
	return Snapshot{Time: time.Now(), Conns: conns, Sockets: SocketsOf(conns, lim, sched)}
}

func (h *handler) conns(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, h.snapshot())
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func (h *handler) mib(w http.ResponseWriter, r *http.Request) {
	m := h.src.MIB()
	if r.URL.Query().Has("json") {
		writeJSON(w, m.Map(true))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	all := m.Map(r.URL.Query().Has("all"))
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	order := func(n string) core.Counter { c, _ := core.CounterByName(n); return c }
	sort.Slice(names, func(i, j int) bool { return order(names[i]) < order(names[j]) })
	for _, n := range names {
		fmt.Fprintf(w, "MPTcpExt%-28s %d\n", n, all[n])
	}
}

// events streams the recent events, then new ones as they happen, one
// per line, until the client goes away.
func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	rec := h.o.Recorder
	if rec == nil {
		http.Error(w, "no event recorder on this stack (observe.Options.Recorder)", http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	asJSON, all := q.Has("json"), q.Has("all")
	sub := rec.Subscribe(1024, all)
	defer sub.Close()
	if asJSON {
		w.Header().Set("Content-Type", "application/x-ndjson")
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	fl, _ := w.(http.Flusher)
	write := func(ev core.Event) bool {
		var err error
		if asJSON {
			var b []byte
			if b, err = MarshalEvent(ev); err == nil {
				_, err = fmt.Fprintf(w, "%s\n", b)
			}
		} else {
			_, err = fmt.Fprintln(w, FormatEvent(ev))
		}
		return err == nil
	}
	for _, ev := range rec.Events() {
		if !write(ev) {
			return
		}
	}
	if fl != nil {
		fl.Flush()
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case ev := <-sub.C():
			if !write(ev) {
				return
			}
			if len(sub.C()) == 0 && fl != nil {
				fl.Flush()
			}
		}
	}
}
