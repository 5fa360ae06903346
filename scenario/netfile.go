package scenario

// NetFile is a version 2 scenario as written: any graph of hosts and
// routers (or a generated FatTree or leaf-spine fabric), ECMP routing,
// and any number of flows, each with its own policies and workload, given
// one by one or as a traffic matrix. A file with `version: 2` is read as a
// NetFile; any other is a version 1 File.
type NetFile struct {
	Version     int     `yaml:"version"`
	Name        string  `yaml:"name"`
	Description string  `yaml:"description"`
	Seed        *uint64 `yaml:"seed"`
	Duration    string  `yaml:"duration"`
	// Interval is the sampling interval of the time series (default 100ms).
	Interval string `yaml:"interval"`
	// Defaults apply to every flow that does not say otherwise.
	Defaults FlowPolicyFile `yaml:"defaults"`
	Topology TopologyFile   `yaml:"topology"`
	// Flows are listed one by one; Traffic generates more from matrices.
	Flows   []FlowFile    `yaml:"flows"`
	Traffic []TrafficFile `yaml:"traffic"`
}

// TopologyFile is the network: a generator, or explicit hosts, routers
// and links (a generator's nodes may be joined by further links).
type TopologyFile struct {
	FatTree   *FatTreeFile   `yaml:"fattree"`
	LeafSpine *LeafSpineFile `yaml:"leafspine"`
	Hosts     []string       `yaml:"hosts"`
	Routers   []string       `yaml:"routers"`
	Links     []NetLinkFile  `yaml:"links"`
}

// FatTreeFile generates the k-ary FatTree of Al-Fares et al. (SIGCOMM
// 2008): k pods of k/2 edge and k/2 aggregation switches, (k/2)^2 core
// switches and k^3/4 hosts (k=8: 128 hosts), every link alike. Hosts are
// h<pod>_<edge>_<i>, switches e<pod>_<i>, a<pod>_<i>, c<i>.
type FatTreeFile struct {
	K        int `yaml:"k"`
	LinkFile `yaml:",inline"`
}

// LeafSpineFile generates a two-tier Clos: every leaf joined to every
// spine, HostsPerLeaf hosts under each leaf. Host links take the inline
// link fields; Uplink, when given, the leaf-spine links. Hosts are
// h<leaf>_<i>, switches l<i> and s<i>.
type LeafSpineFile struct {
	Leaves       int `yaml:"leaves"`
	Spines       int `yaml:"spines"`
	HostsPerLeaf int `yaml:"hosts_per_leaf"`
	LinkFile     `yaml:",inline"`
	Uplink       *LinkFile `yaml:"uplink"`
}

// NetLinkFile is one link between two nodes. A host end gets an address
// of its own on the link's subnet; Endpoint sets that address's MPTCP
// endpoint flags (signal, subflow, backup, fullmesh), as `ip mptcp
// endpoint` does.
type NetLinkFile struct {
	A        string `yaml:"a"`
	B        string `yaml:"b"`
	LinkFile `yaml:",inline"`
	Endpoint []string     `yaml:"endpoint"`
	Outages  []OutageFile `yaml:"outages"`
	Changes  []ChangeFile `yaml:"changes"`
}

// FlowPolicyFile is what a flow may set about its endpoints' stacks.
type FlowPolicyFile struct {
	// Protocol is "mptcp" (default) or "tcp" (a single-path competitor).
	Protocol  string `yaml:"protocol"`
	Scheduler string `yaml:"scheduler"`
	CC        string `yaml:"cc"`
	PM        string `yaml:"pm"`
	// Subflows > 1 opens that many subflows over the same address pair
	// (the ndiffports path manager), as the datacenter papers do.
	Subflows int `yaml:"subflows"`
	// SendBuffer and ReceiveBuffer size both endpoints' connection
	// buffers (the receive buffer is the initial and largest window).
	SendBuffer    string `yaml:"send_buffer"`
	ReceiveBuffer string `yaml:"receive_buffer"`
	// Checksum turns DSS checksums on.
	Checksum bool `yaml:"checksum"`
	// NoIdleRestart keeps windows through idle periods (Linux
	// tcp_slow_start_after_idle=0).
	NoIdleRestart bool `yaml:"no_idle_restart"`
}

// FlowFile is one flow: the client From dials the server To.
type FlowFile struct {
	Name           string `yaml:"name"`
	From           string `yaml:"from"`
	To             string `yaml:"to"`
	FlowPolicyFile `yaml:",inline"`
	// Start delays the flow's first connection.
	Start string `yaml:"start"`
	// Connections is the number of parallel connections (default 1),
	// each running the workload.
	Connections int          `yaml:"connections"`
	Workload    WorkloadFile `yaml:"workload"`
}

// WorkloadFile is what a connection carries.
//
//   - bulk (default): the server sends Size bytes (empty: until the end).
//   - requests: the client sends Request bytes, the server answers with
//     Response bytes; the next request follows Gap after the answer.
//   - objects: the server sends objects of Response bytes, the next Gap
//     after the client has read the last (a video player fetching
//     segments, a feed).
//   - rate: the server sends at Rate (application-limited, as a video or
//     voice stream), in writes every 10 ms.
//
// Sizes and gaps are fixed ("100KiB", "200ms") or drawn per object from
// exp(mean), pareto(mean,shape) or uniform(lo,hi).
type WorkloadFile struct {
	Kind     string `yaml:"kind"`
	Size     string `yaml:"size"`
	Request  string `yaml:"request"`
	Response string `yaml:"response"`
	Gap      string `yaml:"gap"`
	Count    int    `yaml:"count"`
	Rate     string `yaml:"rate"`
	// NewConnection opens a connection for every request or object,
	// closed once it completes.
	NewConnection bool `yaml:"new_connection"`
	// Upload reverses a bulk or rate workload: the client sends.
	Upload bool `yaml:"upload"`
}

// TrafficFile generates flows between hosts by a traffic matrix, each
// flow taking the inline template's policies and workload:
// permutation (every host sends to one other, each receiving from one),
// random (every host to a random other), incast (every host to Target,
// or the first host), all-to-all.
type TrafficFile struct {
	Matrix string `yaml:"matrix"`
	// Hosts limits the matrix to these hosts (default: every host).
	Hosts    []string `yaml:"hosts"`
	Target   string   `yaml:"target"`
	FlowFile `yaml:",inline"`
}
