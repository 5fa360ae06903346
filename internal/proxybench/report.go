package proxybench

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Uplink is one emulated access link.
type Uplink struct {
	Name  string
	Rate  int64         // bit/s, each direction
	Delay time.Duration // one-way
}

// Report is what a run measured.
type Report struct {
	Uplinks        []Uplink       `json:"uplinks"`
	DurationS      float64        `json:"duration_s"`
	SumOfLinksMbps float64        `json:"sum_of_links_mbps"`
	Bulk           []BulkRow      `json:"bulk"`
	Latency        []LatencyRow   `json:"latency"`
	Concurrent     *ConcurrentRow `json:"concurrent,omitempty"`
	Outages        []OutageRow    `json:"outages,omitempty"`
	// SSHSkipped says why the OpenSSH session was not measured.
	SSHSkipped string `json:"ssh_skipped,omitempty"`
}

// BulkRow is one bulk transfer.
type BulkRow struct {
	Name      string  `json:"name"`
	Direction string  `json:"direction"`
	Mbps      float64 `json:"mbps"`
	OfSum     float64 `json:"of_sum,omitempty"` // goodput / sum of the uplinks alone
}

// LatencyRow is the time from dial to first byte of new connections.
type LatencyRow struct {
	Name     string  `json:"name"`
	MedianMs float64 `json:"median_ms"`
	P99Ms    float64 `json:"p99_ms"`
	// TFOAccepted counts the converter's SYNs whose data it accepted
	// (TcpExtTCPFastOpenPassive) during these connections.
	TFOAccepted int `json:"tfo_accepted"`
}

// ConcurrentRow is the concurrent-connections test.
type ConcurrentRow struct {
	N               int     `json:"n"`
	ProxyCompleted  int     `json:"proxy_completed"`
	ProxyP50Ms      float64 `json:"proxy_p50_ms"`
	ProxyP99Ms      float64 `json:"proxy_p99_ms"`
	DirectCompleted int     `json:"direct_completed"`
	DirectP50Ms     float64 `json:"direct_p50_ms"`
	DirectP99Ms     float64 `json:"direct_p99_ms"`
	ClientKBPerConn float64 `json:"client_kb_per_conn"`
	ServerKBPerConn float64 `json:"server_kb_per_conn"`
}

// OutageRow is the interactive session across an uplink outage.
type OutageRow struct {
	Session        string  `json:"session"`
	Uplink         string  `json:"uplink"`
	OutageS        float64 `json:"outage_s"`
	Survived       bool    `json:"survived"`
	LongestStallMs float64 `json:"longest_stall_ms"`
}

// WriteJSON writes the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report as tables.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "uplinks:")
	for _, u := range r.Uplinks {
		fmt.Fprintf(w, "  %s %.0f Mbit/s %v one-way", u.Name, float64(u.Rate)/1e6, u.Delay)
	}
	fmt.Fprintf(w, "; %.0f s transfers\n\n", r.DurationS)
	fmt.Fprintf(tw, "bulk\tdirection\tMbit/s\tof sum\t\n")
	for _, b := range r.Bulk {
		of := ""
		if b.OfSum > 0 {
			of = fmt.Sprintf("%.2f", b.OfSum)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%s\t\n", b.Name, b.Direction, b.Mbps, of)
	}
	fmt.Fprintf(tw, "\t\t\t\t\n new connection, dial to first byte\tmedian ms\tp99 ms\tdata in SYN\t\n")
	for _, l := range r.Latency {
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%d\t\n", l.Name, l.MedianMs, l.P99Ms, l.TFOAccepted)
	}
	if c := r.Concurrent; c != nil {
		fmt.Fprintf(tw, "\t\t\t\t\n%d concurrent requests\tcompleted\tp50 ms\tp99 ms\t\n", c.N)
		fmt.Fprintf(tw, "through the proxy\t%d\t%.1f\t%.1f\t\n", c.ProxyCompleted, c.ProxyP50Ms, c.ProxyP99Ms)
		fmt.Fprintf(tw, "direct\t%d\t%.1f\t%.1f\t\n", c.DirectCompleted, c.DirectP50Ms, c.DirectP99Ms)
		fmt.Fprintf(tw, "proxy memory per connection (KB)\tclient %.1f\tserver %.1f\t\t\n", c.ClientKBPerConn, c.ServerKBPerConn)
	}
	for _, o := range r.Outages {
		fmt.Fprintf(tw, "\t\t\t\t\n%s, %s down %.0f s\tsurvived %v\tlongest stall %.0f ms\t\t\n", o.Session, o.Uplink, o.OutageS, o.Survived, o.LongestStallMs)
	}
	if r.SSHSkipped != "" {
		fmt.Fprintf(tw, "OpenSSH session not measured: %s\t\t\t\t\n", r.SSHSkipped)
	}
	return tw.Flush()
}
