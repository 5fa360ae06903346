package observe

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mptcp-go/mptcp/core"
)

// Collector is a Prometheus collector for a stack: every MIB counter as
// mptcp_MPTcpExt<Name> (the names nstat and node_exporter show for the
// kernel's), and per-subflow gauges of throughput, RTT, loss and
// congestion window labelled by connection token and path.
type Collector struct {
	src  Source
	mib  []*prometheus.Desc
	rate *prometheus.Desc
	rtt  *prometheus.Desc
	loss *prometheus.Desc
	cwnd *prometheus.Desc
	sent *prometheus.Desc
	cons *prometheus.Desc
}

// NewCollector returns a collector reading src at each scrape.
func NewCollector(src Source) *Collector {
	c := &Collector{src: src}
	for _, ctr := range core.Counters() {
		help := fmt.Sprintf("MPTCP MIB counter %s, as the kernel's MPTcpExt%s", ctr, ctr)
		if !ctr.Kernel() {
			help = fmt.Sprintf("MPTCP MIB counter %s (not a kernel counter)", ctr)
		}
		c.mib = append(c.mib, prometheus.NewDesc("mptcp_MPTcpExt"+ctr.String(), help, nil, nil))
	}
	path := []string{"token", "subflow", "local", "remote"}
	c.rate = prometheus.NewDesc("mptcp_subflow_throughput_bytes_per_second", "Delivery rate of the subflow's latest sample.", path, nil)
	c.rtt = prometheus.NewDesc("mptcp_subflow_rtt_seconds", "Smoothed round-trip time of the subflow.", path, nil)
	c.loss = prometheus.NewDesc("mptcp_subflow_loss_ratio", "Bytes retransmitted over bytes sent on the subflow.", path, nil)
	c.cwnd = prometheus.NewDesc("mptcp_subflow_cwnd_bytes", "Congestion window of the subflow.", path, nil)
	c.sent = prometheus.NewDesc("mptcp_subflow_sent_bytes_total", "Data-level payload the subflow carried.", path, nil)
	c.cons = prometheus.NewDesc("mptcp_connections", "MPTCP connections the stack holds.", nil, nil)
	return c
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.mib {
		ch <- d
	}
	for _, d := range []*prometheus.Desc{c.rate, c.rtt, c.loss, c.cwnd, c.sent, c.cons} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	m := c.src.MIB()
	for i, ctr := range core.Counters() {
		t := prometheus.CounterValue
		if ctr == core.MPCurrEstab {
			t = prometheus.GaugeValue
		}
		ch <- prometheus.MustNewConstMetric(c.mib[i], t, float64(m.Get(ctr)))
	}
	conns := c.src.Conns()
	ch <- prometheus.MustNewConstMetric(c.cons, prometheus.GaugeValue, float64(len(conns)))
	for _, ci := range conns {
		for _, sf := range ci.Subflows {
			l := []string{fmt.Sprintf("%08x", ci.LocalToken), fmt.Sprint(sf.ID), sf.Local.String(), sf.Remote.String()}
			loss := 0.0
			if sf.TCP.BytesSent > 0 {
				loss = float64(sf.TCP.BytesRetrans) / float64(sf.TCP.BytesSent)
			}
			ch <- prometheus.MustNewConstMetric(c.rate, prometheus.GaugeValue, sf.DeliveryRate, l...)
			ch <- prometheus.MustNewConstMetric(c.rtt, prometheus.GaugeValue, sf.SRTT.Seconds(), l...)
			ch <- prometheus.MustNewConstMetric(c.loss, prometheus.GaugeValue, loss, l...)
			ch <- prometheus.MustNewConstMetric(c.cwnd, prometheus.GaugeValue, float64(sf.Cwnd), l...)
			ch <- prometheus.MustNewConstMetric(c.sent, prometheus.CounterValue, float64(sf.BytesSent), l...)
		}
	}
}

// MetricsHandler serves src's metrics in the Prometheus format, for a
// program that wants /metrics without the rest of the debug endpoint.
func MetricsHandler(src Source) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(src))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
