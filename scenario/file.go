package scenario

// File is a scenario as written in YAML or JSON (JSON is read as YAML).
// Values with units stay strings here, so that compiling them can name the
// field that is wrong; Compile turns a File into a Scenario.
type File struct {
	Name        string           `yaml:"name"`
	Description string           `yaml:"description"`
	Seed        *uint64          `yaml:"seed"`
	Duration    string           `yaml:"duration"`
	IPv6        bool             `yaml:"ipv6"`
	Scheduler   string           `yaml:"scheduler"`
	CC          string           `yaml:"cc"`
	PM          string           `yaml:"pm"`
	Paths       []PathFile       `yaml:"paths"`
	ServerLink  *LinkFile        `yaml:"server_link"`
	Competitors []CompetitorFile `yaml:"competitors"`
	Transfer    TransferFile     `yaml:"transfer"`
}

// LinkFile describes a link. Its fields apply to both directions; Up
// overrides them for the client-to-server direction (an asymmetric access
// line, for example).
type LinkFile struct {
	Rate      string `yaml:"rate"`
	Delay     string `yaml:"delay"` // one-way propagation delay
	Loss      string `yaml:"loss"`
	Queue     string `yaml:"queue"`
	Jitter    string `yaml:"jitter"`
	Reorder   string `yaml:"reorder"`
	Duplicate string `yaml:"duplicate"`
	// Corrupt flips a bit in this share of packets; MTU drops longer
	// packets; Burst adds Gilbert-Elliott loss (bursts) to Loss.
	Corrupt string     `yaml:"corrupt"`
	MTU     int        `yaml:"mtu"`
	Burst   *BurstFile `yaml:"burst"`
	Up      *LinkFile  `yaml:"up"`
}

// BurstFile is a Gilbert-Elliott loss process: P is the chance per packet
// of going from the good state to the bad, R of coming back; each state
// loses packets with its own probability (default 0 in good, 100% in bad).
type BurstFile struct {
	P        string `yaml:"p"`
	R        string `yaml:"r"`
	LossGood string `yaml:"loss_good"`
	LossBad  string `yaml:"loss_bad"`
}

// PathFile is one of the client's paths to the server: a client interface
// and the access link behind it.
type PathFile struct {
	Name     string `yaml:"name"`
	LinkFile `yaml:",inline"`
	// Backup marks the client's address on this path as a backup path.
	Backup  bool         `yaml:"backup"`
	Outages []OutageFile `yaml:"outages"`
	Changes []ChangeFile `yaml:"changes"`
}

// OutageFile takes a path down at At for For, in both directions.
type OutageFile struct {
	At  string `yaml:"at"`
	For string `yaml:"for"`
}

// ChangeFile changes a path's rate, delay or loss at a given time.
type ChangeFile struct {
	At    string `yaml:"at"`
	Rate  string `yaml:"rate"`
	Delay string `yaml:"delay"`
	Loss  string `yaml:"loss"`
}

// CompetitorFile is a single-path TCP host that shares the server link with
// the MPTCP client, for fairness experiments.
type CompetitorFile struct {
	Name     string `yaml:"name"`
	CC       string `yaml:"cc"`
	LinkFile `yaml:",inline"`
}

// TransferFile is the application traffic.
type TransferFile struct {
	// Direction is "download" (server to client, the default), "upload" or
	// "both".
	Direction string `yaml:"direction"`
	// Size is the number of bytes to move in each direction; empty or 0
	// moves data for the whole duration.
	Size string `yaml:"size"`
	// Start delays the transfer.
	Start string `yaml:"start"`
}
