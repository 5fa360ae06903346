package perf

import (
	"time"
)

// Report is one side's account of a test: what was asked, each interval,
// and what both sides measured.
type Report struct {
	// Role is "client" or "server".
	Role   string `json:"role"`
	Params Params `json:"params"`
	// Sender reports whether this side sent the data.
	Sender bool      `json:"sender"`
	Start  time.Time `json:"start"`
	// Streams describe the data connections as they were at the start.
	Streams   []StreamInfo `json:"streams"`
	Intervals []Interval   `json:"intervals"`
	// Local is what this side measured; Remote what the peer reported
	// (nil if it reported nothing).
	Local  *SideResult `json:"local"`
	Remote *SideResult `json:"remote,omitempty"`
	// Summary is the test's outcome from both sides' results.
	Summary Summary `json:"summary"`
}

// StreamInfo describes one data connection.
type StreamInfo struct {
	Stream int       `json:"stream"`
	Local  string    `json:"local"`
	Remote string    `json:"remote"`
	Conn   ConnStats `json:"conn"`
}

// Interval is one reporting interval, measured on this side: bytes
// written by a sender, read by a receiver.
type Interval struct {
	Start         float64          `json:"start"` // seconds since the start
	End           float64          `json:"end"`
	Bytes         int64            `json:"bytes"`
	BitsPerSecond float64          `json:"bits_per_second"`
	Streams       []StreamInterval `json:"streams"`
}

// StreamInterval is one stream's share of an interval.
type StreamInterval struct {
	Stream        int               `json:"stream"`
	Bytes         int64             `json:"bytes"`
	BitsPerSecond float64           `json:"bits_per_second"`
	Subflows      []SubflowInterval `json:"subflows,omitempty"`
}

// SubflowInterval is one subflow's figures in an interval: the payload it
// sent (on the sender) or received (on the receiver) in the interval,
// and its state at the end of it.
type SubflowInterval struct {
	Local         string        `json:"local"`
	Remote        string        `json:"remote"`
	Bytes         uint64        `json:"bytes"`
	BitsPerSecond float64       `json:"bits_per_second"`
	SRTT          time.Duration `json:"srtt_ns"`
	Cwnd          int           `json:"cwnd_bytes"`
	Retransmits   uint64        `json:"retransmits"` // in the interval
	Backup        bool          `json:"backup,omitempty"`
}

// SideResult is what one side measured over the whole test.
type SideResult struct {
	Sender  bool           `json:"sender"`
	Bytes   int64          `json:"bytes"`
	Seconds float64        `json:"seconds"`
	Streams []StreamResult `json:"streams"`
	// Verified reports that a receiver checked every byte it read
	// against the pattern and found them right.
	Verified bool   `json:"verified,omitempty"`
	Error    string `json:"error,omitempty"`

	err error // the error behind Error, on the side that measured
}

// StreamResult is one stream's result on one side.
type StreamResult struct {
	Stream  int     `json:"stream"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error,omitempty"`
	// Final is the connection as it was when the stream ended.
	Final ConnStats `json:"final"`
}

// Summary is a test's outcome: the sender's and the receiver's totals.
type Summary struct {
	Sent     Totals `json:"sent"`
	Received Totals `json:"received"`
	// Verified: every byte was checked by the receiver and each stream
	// received exactly what was sent.
	Verified bool `json:"verified"`
	// Complete: both sides finished without error and every byte sent
	// was received.
	Complete bool `json:"complete"`
}

// Totals are bytes over a time.
type Totals struct {
	Bytes         int64   `json:"bytes"`
	Seconds       float64 `json:"seconds"`
	BitsPerSecond float64 `json:"bits_per_second"`
}

func totals(r *SideResult) Totals {
	if r == nil {
		return Totals{}
	}
	return Totals{Bytes: r.Bytes, Seconds: r.Seconds, BitsPerSecond: rate(r.Bytes, r.Seconds)}
}

// rate returns bits per second.
func rate(bytes int64, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return float64(bytes) * 8 / seconds
}

// sides returns the sending and the receiving side's results, nil for a
// side the report lacks.
func (r *Report) sides() (snd, rcv *SideResult) {
	for _, s := range []*SideResult{r.Local, r.Remote} {
		switch {
		case s == nil:
		case s.Sender:
			snd = s
		default:
			rcv = s
		}
	}
	return snd, rcv
}

// summarize fills the report's summary from both sides' results.
func (r *Report) summarize() {
	snd, rcv := r.sides()
	r.Summary = Summary{Sent: totals(snd), Received: totals(rcv)}
	if snd == nil || rcv == nil || snd.Error != "" || rcv.Error != "" || len(snd.Streams) != len(rcv.Streams) {
		return
	}
	for i := range snd.Streams {
		if snd.Streams[i].Bytes != rcv.Streams[i].Bytes {
			return
		}
	}
	r.Summary.Complete = true
	r.Summary.Verified = rcv.Verified
}
