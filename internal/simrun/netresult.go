package simrun

// NetResult is what a version 2 run measured. Its JSON form is what `mptcp
// sim --json` prints for a version 2 scenario.
type NetResult struct {
	Scenario  string  `json:"scenario"`
	Seed      uint64  `json:"seed"`
	DurationS float64 `json:"duration_s"`
	// Flows are in the scenario's order (matrices expanded).
	Flows []FlowResult `json:"flows"`
	// Links are the links with a rate, each direction on its own.
	Links []LinkResult `json:"links"`
	// JainIndex is Jain's fairness index of the flows' goodputs
	// (fairness.Jain): 1 when all are equal, 1/n when one has everything.
	JainIndex float64 `json:"jain_index"`
	// TotalGoodputBps sums the flows' goodputs, MeanGoodputBps averages
	// them.
	TotalGoodputBps float64 `json:"total_goodput_bps"`
	MeanGoodputBps  float64 `json:"mean_goodput_bps"`
	IntegrityOK     bool    `json:"integrity_ok"`
	Error           string  `json:"error,omitempty"`
	// Series holds each subflow's RTT, congestion window and delivery
	// rate at every interval, for the first connection of each flow.
	Series []SeriesPoint `json:"series,omitempty"`
}

// FlowResult is one flow: all its connections and objects.
type FlowResult struct {
	Name        string `json:"name"`
	From        string `json:"from"`
	To          string `json:"to"`
	Protocol    string `json:"protocol"`
	Workload    string `json:"workload"`
	Scheduler   string `json:"scheduler,omitempty"`
	CC          string `json:"cc"`
	PM          string `json:"pm,omitempty"`
	Connections int    `json:"connections"` // opened over the run
	// BytesDelivered counts the bytes the receiving applications read, in
	// both directions.
	BytesDelivered int64 `json:"bytes_delivered"`
	// GoodputBps is BytesDelivered over the time from the flow's first
	// dial to its completion, or to the end of the run.
	GoodputBps float64 `json:"goodput_bps"`
	// Completed says every connection finished its workload; CompletionS
	// is then the time from the first dial to the last byte read.
	Completed   bool    `json:"completed"`
	CompletionS float64 `json:"completion_s,omitempty"`
	// Objects completed (requests answered, objects read) and their
	// completion times from request (or first write) to last byte.
	Objects      int     `json:"objects,omitempty"`
	ObjectMeanS  float64 `json:"object_mean_s,omitempty"`
	ObjectP50S   float64 `json:"object_p50_s,omitempty"`
	ObjectP99S   float64 `json:"object_p99_s,omitempty"`
	ObjectsLateS float64 `json:"rate_max_lag_s,omitempty"` // rate workloads: the most the reader fell behind the writer's schedule
	// Retransmits counts the TCP segments the flow's senders sent again,
	// over every subflow.
	Retransmits uint64 `json:"tcp_retransmits"`
	// OutOfOrder*Bytes describe the data-level out-of-order queue of the
	// receivers, sampled every interval.
	OutOfOrderMeanBytes float64 `json:"ooo_mean_bytes"`
	OutOfOrderMaxBytes  int     `json:"ooo_max_bytes"`
	Subflows            int     `json:"subflows"` // most seen on one connection
	FellBack            bool    `json:"fell_back,omitempty"`
	IntegrityOK         bool    `json:"integrity_ok"`
}

// LinkResult is one direction of one link.
type LinkResult struct {
	From        string  `json:"from"`
	To          string  `json:"to"`
	RateBps     int64   `json:"rate_bps"`
	Bytes       uint64  `json:"bytes"`
	Utilisation float64 `json:"utilisation"`
	Drops       uint64  `json:"drops"`
}

// SeriesPoint is one subflow at the end of one interval.
type SeriesPoint struct {
	T       float64 `json:"t"`
	Flow    string  `json:"flow"`
	Subflow int     `json:"subflow"`
	Path    string  `json:"path"` // local and remote address
	RTTMs   float64 `json:"rtt_ms"`
	Cwnd    int     `json:"cwnd_bytes"`
	Bps     float64 `json:"bps"` // data delivered by the subflow over the interval
}
