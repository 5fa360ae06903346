package simrun

import (
	"errors"
	"fmt"
)

// Result is what a run measured. Its JSON form is what `mptcp sim --json`
// prints; field names are part of the command's interface.
type Result struct {
	Scenario  string  `json:"scenario"`
	Seed      uint64  `json:"seed"`
	DurationS float64 `json:"duration_s"`
	Direction string  `json:"direction"`
	Scheduler string  `json:"scheduler"`
	CC        string  `json:"cc"`
	PM        string  `json:"pm"`

	// BytesDelivered counts bytes the receiving application read, in
	// every direction of the transfer.
	BytesDelivered int64 `json:"bytes_delivered"`
	// TransferBytes is what a size-limited transfer delivers when it
	// completes, every direction counted; 0 for a transfer that runs for
	// the whole duration.
	TransferBytes int64 `json:"transfer_bytes,omitempty"`
	// GoodputBps is BytesDelivered over the time from the transfer's
	// start to its completion (or to the end of the run).
	GoodputBps float64 `json:"goodput_bps"`
	// CapacityBps is the average capacity of the client's paths over the
	// same time (start to completion, or to the end of the run), outages
	// counted.
	CapacityBps int64 `json:"capacity_bps"`
	// Utilisation is GoodputBps / CapacityBps (0 when the capacity is
	// unknown: paths without a rate limit).
	Utilisation float64 `json:"utilisation"`
	// MaxStallMs is the longest time the receiving application waited
	// for data between its first byte and the end of the transfer.
	MaxStallMs float64 `json:"max_stall_ms"`
	// IntegrityOK says every byte read was the byte sent at that offset,
	// and nothing was read past a size-limited transfer's end.
	IntegrityOK bool `json:"integrity_ok"`
	// Completed says a size-limited transfer finished (always false for a
	// transfer that runs for the whole duration), CompletionS when.
	Completed   bool    `json:"completed"`
	CompletionS float64 `json:"completion_s,omitempty"`
	// Error reports what went wrong in the applications (a failed dial),
	// if anything.
	Error string `json:"error,omitempty"`
	// FellBack says the connection ran as plain TCP, FallbackReason why.
	FellBack       bool   `json:"fell_back"`
	FallbackReason string `json:"fallback_reason,omitempty"`

	Subflows  []SubflowResult `json:"subflows"`
	Intervals []Interval      `json:"intervals"`
	// Outages are the times the scenario takes a path down.
	Outages []Outage `json:"outages,omitempty"`

	// Competitors are the single-path TCP flows sharing the server link;
	// TCPGoodputBps is their mean goodput and MPTCPToTCPRatio the MPTCP
	// connection's goodput over it (fairness; omitted without competitors).
	Competitors     []CompetitorResult `json:"competitors,omitempty"`
	TCPGoodputBps   *float64           `json:"tcp_goodput_bps,omitempty"`
	MPTCPToTCPRatio *float64           `json:"mptcp_to_tcp_ratio,omitempty"`

	// MIB holds the non-zero MPTcpExt counters of the client and server.
	MIB map[string]map[string]uint64 `json:"mib"`
}

// SubflowResult describes one subflow of the MPTCP connection, as seen by
// the receiver of the data.
type SubflowResult struct {
	ID     int    `json:"id"`
	Path   string `json:"path"`
	Local  string `json:"local"`
	Remote string `json:"remote"`
	// Bytes is the data-level payload the subflow received, in order at
	// the subflow level; data the sender sent again on another subflow
	// counts on both, so the subflows' bytes may sum to more than the
	// transfer's.
	Bytes  uint64 `json:"bytes"`
	Backup bool   `json:"backup"`
	// Cwnd is the sender's congestion window over time, sampled
	// cwndPerInterval times per reporting interval (the sawtooth shows).
	Cwnd []CwndPoint `json:"cwnd"`
}

// CwndPoint is one congestion window sample.
type CwndPoint struct {
	T     float64 `json:"t"` // seconds
	Bytes int     `json:"bytes"`
}

// Interval is one reporting interval: the data rate each subflow
// received, the application's in-order goodput, and each sender-side
// subflow's congestion window at the interval's end. An interval ends
// every Options.Interval from the transfer's start; the last one ends
// early, when the transfer completes or the run ends.
type Interval struct {
	T          float64            `json:"t"` // end of the interval, seconds
	TotalBps   float64            `json:"total_bps"`
	SubflowBps map[string]float64 `json:"subflow_bps"` // by subflow ID
	Cwnd       map[string]int     `json:"cwnd_bytes"`  // by subflow ID
	// CompetitorBps is each competitor's rate, by name.
	CompetitorBps map[string]float64 `json:"competitor_bps,omitempty"`
}

// Outage is a stretch of time during which a path is down.
type Outage struct {
	Path  string  `json:"path"`
	FromS float64 `json:"from_s"`
	ToS   float64 `json:"to_s"`
}

// CompetitorResult is one competing TCP flow.
type CompetitorResult struct {
	Name           string  `json:"name"`
	CC             string  `json:"cc"`
	BytesDelivered int64   `json:"bytes_delivered"`
	GoodputBps     float64 `json:"goodput_bps"`
	IntegrityOK    bool    `json:"integrity_ok"`
}

// Problem returns why the run's transfer failed, or nil: data that
// arrived corrupted, an application error, a size-limited transfer that
// did not complete, or nothing delivered at all. `mptcp sim` exits with
// status 1 when there is one.
func (r *Result) Problem() error {
	switch {
	case !r.IntegrityOK:
		return errors.New("data integrity check failed")
	case r.Error != "":
		return errors.New(r.Error)
	case r.TransferBytes > 0 && !r.Completed:
		return fmt.Errorf("transfer incomplete: %d of %d bytes delivered in %gs", r.BytesDelivered, r.TransferBytes, r.DurationS)
	case r.BytesDelivered == 0:
		return fmt.Errorf("no data delivered in %gs", r.DurationS)
	}
	return nil
}
