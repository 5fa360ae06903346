package proxy

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mptcp-go/mptcp/observe"
)

// leg is what the status endpoint sees of the MPTCP leg: the transport's
// sockets, narrowed to the proxy's own connections.
type leg struct {
	tr   *Transport
	keep func(*observe.Socket) bool
}

// sockets lists the leg's MPTCP sockets, nil when the transport cannot.
func (l leg) sockets() []observe.Socket {
	if l.tr == nil || l.tr.Sockets == nil {
		return nil
	}
	socks, err := l.tr.Sockets()
	if err != nil {
		return nil
	}
	return socks
}

// localPort keeps the sockets whose local port is port (the converter's
// connections and their subflows).
func localPort(port uint16) func(*observe.Socket) bool {
	return func(s *observe.Socket) bool { return s.Local.Port() == port }
}

// peerPort keeps the sockets whose peer port is port (the front end's
// connections to the converter).
func peerPort(port uint16) func(*observe.Socket) bool {
	return func(s *observe.Socket) bool { return s.Peer.Port() == port }
}

// StatusHandler serves the proxy's status endpoint: the counters as JSON
// at /status, with the MPTCP leg's paths (bytes per local address) and
// what limits each of its connections (observe.Diagnose); Prometheus
// metrics at /metrics; and, on the user-space stack, the stack's debug
// endpoint (observe.Handler: /conns.json, /mib, /events, the live page).
// tr and keep may be nil: the counters alone.
func StatusHandler(st *Stats, tr *Transport, keep func(*observe.Socket) bool) http.Handler {
	l := leg{tr: tr, keep: keep}
	cpu := newCPUMeter()
	cpu.read()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		snap := st.Snapshot()
		if socks := l.sockets(); socks != nil {
			snap.Paths = observe.Paths(socks, keep)
			snap.Limits = observe.Diagnose(socks, keep)
		}
		snap.CPU = cpu.read()
		snap.markCPU()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(snap)
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(&collector{st: st, leg: l})
	if tr != nil && tr.Source != nil {
		reg.MustRegister(observe.NewCollector(tr.Source))
		mux.Handle("/", observe.Handler(tr.Source, observe.Options{Recorder: tr.Recorder}))
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}

// collector exports Stats and the leg's paths to Prometheus.
type collector struct {
	st  *Stats
	leg leg
}

var (
	descConns         = prometheus.NewDesc("mptcp_proxy_connections_total", "Connections accepted from clients.", nil, nil)
	descActive        = prometheus.NewDesc("mptcp_proxy_active_relays", "Connections being relayed now.", nil, nil)
	descRelayed       = prometheus.NewDesc("mptcp_proxy_relayed_total", "Connections relayed to their end.", nil, nil)
	descBytes         = prometheus.NewDesc("mptcp_proxy_bytes_total", "Bytes relayed, by direction (up: client to destination).", []string{"direction"}, nil)
	descRefused       = prometheus.NewDesc("mptcp_proxy_refusals_total", "Connections refused, by reason.", []string{"reason"}, nil)
	descFailed        = prometheus.NewDesc("mptcp_proxy_failures_total", "Connections that failed, by cause.", []string{"cause"}, nil)
	descUDP           = prometheus.NewDesc("mptcp_proxy_udp_datagrams_total", "UDP datagrams relayed, both ways.", nil, nil)
	descClientConns   = prometheus.NewDesc("mptcp_proxy_client_connections_total", "Connections accepted from one client address.", []string{"client"}, nil)
	descClientActive  = prometheus.NewDesc("mptcp_proxy_client_active_relays", "Connections of one client address being relayed now.", []string{"client"}, nil)
	descClientBytes   = prometheus.NewDesc("mptcp_proxy_client_bytes_total", "Bytes relayed for one client address, by direction.", []string{"client", "direction"}, nil)
	descClientRefused = prometheus.NewDesc("mptcp_proxy_client_refusals_total", "Connections of one client address refused.", []string{"client"}, nil)
	descPathBytes     = prometheus.NewDesc("mptcp_proxy_path_bytes_total", "Bytes the MPTCP leg's subflows carried over one local address (sent: acknowledged by the peer).", []string{"local", "direction"}, nil)
	descPathRetrans   = prometheus.NewDesc("mptcp_proxy_path_retransmitted_bytes_total", "Bytes the MPTCP leg's subflows retransmitted over one local address.", []string{"local"}, nil)
	descPathSubflows  = prometheus.NewDesc("mptcp_proxy_path_subflows", "The MPTCP leg's subflows on one local address.", []string{"local"}, nil)
	descLimited       = prometheus.NewDesc("mptcp_proxy_limited_subflows", "The MPTCP leg's subflows by what limits them now (observe.Diagnose).", []string{"limit"}, nil)
)

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descConns, descActive, descRelayed, descBytes, descRefused, descFailed, descUDP,
		descClientConns, descClientActive, descClientBytes, descClientRefused, descPathBytes, descPathRetrans, descPathSubflows, descLimited} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.st.Snapshot()
	counter := func(d *prometheus.Desc, v int64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), l...)
	}
	gauge := func(d *prometheus.Desc, v int64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), l...)
	}
	counter(descConns, s.Accepted)
	gauge(descActive, s.Active)
	counter(descRelayed, s.Relayed)
	counter(descBytes, s.BytesUp, "up")
	counter(descBytes, s.BytesDown, "down")
	counter(descRefused, s.Malformed, "malformed")
	counter(descRefused, s.NotAuthorized, "not_authorized")
	counter(descRefused, s.Forbidden, "forbidden")
	counter(descRefused, s.OverLimit, "over_limit")
	counter(descFailed, s.DestFailed, "destination")
	counter(descFailed, s.ConverterError, "converter_error")
	counter(descUDP, s.UDPDatagrams)
	for _, cl := range s.Clients {
		a := cl.Client.String()
		counter(descClientConns, cl.Accepted, a)
		gauge(descClientActive, cl.Active, a)
		counter(descClientBytes, cl.BytesUp, a, "up")
		counter(descClientBytes, cl.BytesDown, a, "down")
		counter(descClientRefused, cl.Refused, a)
	}
	socks := c.leg.sockets()
	if socks == nil {
		return
	}
	for _, p := range observe.Paths(socks, c.leg.keep) {
		a := p.Local.String()
		counter(descPathBytes, int64(p.BytesAcked), a, "sent")
		counter(descPathBytes, int64(p.BytesReceived), a, "received")
		counter(descPathRetrans, int64(p.BytesRetrans), a)
		gauge(descPathSubflows, int64(p.Subflows), a)
	}
	limited := map[string]int64{}
	for _, cl := range observe.Diagnose(socks, c.leg.keep) {
		for _, sf := range cl.Subflows {
			if sf.Limit != "" {
				limited[sf.Limit]++
			}
		}
	}
	for _, lim := range []string{observe.LimitApplication, observe.LimitLoss, observe.LimitWindow, observe.LimitCwnd, observe.LimitRTT} {
		gauge(descLimited, limited[lim], lim)
	}
}

// portOf returns the port of a HOST:PORT address, 0 if it has none.
func portOf(addr string) uint16 {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.ParseUint(p, 10, 16)
	return uint16(n)
}
