//go:build linux

package interop

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp"
	"github.com/mptcp-go/mptcp/internal/lab"
	"github.com/mptcp-go/mptcp/link/tun"
	"github.com/mptcp-go/mptcp/pcap"
)

// port is the port every case's server listens on; each case has its
// own namespaces, so they never collide.
const port = 5201

// caseTimeout bounds every connection of a case: a stuck transfer fails
// the case instead of hanging the suite.
const caseTimeout = 60 * time.Second

// family is IPv4 or IPv6.
type family struct {
	name string
	v6   bool
}

var families = []family{{"IPv4", false}, {"IPv6", true}}

// side says which end of the topology runs our stack.
type side int

const (
	ourClient side = iota // our stack dials, the kernel listens
	ourServer             // the kernel dials, our stack listens
)

func (s side) String() string {
	if s == ourClient {
		return "OurClient"
	}
	return "OurServer"
}

// envConfig describes a case's topology and stacks.
type envConfig struct {
	side  side
	v6    bool
	paths int // paths between client and server (default 1)
	// ourPaths are the paths whose stack addresses our stack holds
	// (default: path 1 only).
	ourPaths []int
	// cfg configures our stack.
	cfg mptcp.Config
	// kernelSysctl are set in the kernel's namespace before anything
	// connects (net.mptcp.checksum_enabled=1, ...).
	kernelSysctl []string
	// announcePort, if set, makes our stack announce its path-2 address
	// with this port (Config.Announce), a port that takes joins only.
	announcePort uint16
	// links shapes the paths (lab.Config.Links).
	links []lab.LinkConfig
}

// env is one case: a topology, our stack on a TUN device on one side, and
// the kernel on the other.
type env struct {
	t    *testing.T
	tp   *lab.Topology
	v6   bool
	side side
	// kern is the kernel's namespace, the one our stack is not in.
	kern lab.Netns
	st   *mptcp.Stack
	drv  *tun.Driver
	pcap string // our side's capture

	kernBefore counters
	ourBefore  counters
	stopped    bool
}

// newEnv builds a case's world. Everything it makes is removed when the
// test ends: the driver stops, its capture is checked, and the
// namespaces go.
func newEnv(t *testing.T, ec envConfig) *env {
	t.Helper()
	if ec.paths == 0 {
		ec.paths = 1
	}
	if len(ec.ourPaths) == 0 {
		ec.ourPaths = []int{1}
	}
	tp := lab.New(t, lab.Config{Paths: ec.paths, Links: ec.links})
	e := &env{t: t, tp: tp, v6: ec.v6, side: ec.side}
	ourNS := tp.Client
	e.kern = tp.Server
	if ec.side == ourServer {
		ourNS, e.kern = tp.Server, tp.Client
	}
	if err := e.kern.Sysctl(ec.kernelSysctl...); err != nil {
		t.Fatal(err)
	}
	ifc, err := tp.StackInterface(ourNS, "tun0", ec.ourPaths...)
	if err != nil {
		t.Fatal(err)
	}
	if ec.announcePort != 0 {
		ec.cfg.Announce = append(ec.cfg.Announce, netip.AddrPortFrom(e.ourAddr(2), ec.announcePort))
	}
	st, err := mptcp.NewStack(ec.cfg)
	if err != nil {
		ifc.Device.Close()
		t.Fatal(err)
	}
	for _, n := range ec.ourPaths {
		st.AddAddress(e.ourAddr(n))
	}
	e.pcap = t.TempDir() + "/ours.pcap"
	f, err := os.Create(e.pcap)
	if err != nil {
		ifc.Device.Close()
		t.Fatal(err)
	}
	w, err := pcap.NewWriter(f)
	if err != nil {
		f.Close()
		ifc.Device.Close()
		t.Fatal(err)
	}
	e.drv, err = tun.New(st.Link(), tun.Config{
		Interfaces: []tun.Interface{ifc},
		Capture:    w,
		OnError:    func(err error) { t.Logf("driver: %v", err) },
	})
	if err != nil {
		f.Close()
		ifc.Device.Close()
		t.Fatal(err)
	}
	e.st = st
	t.Cleanup(func() {
		e.stop()
		f.Close()
		checkCapture(t, e.pcap)
		keepCapture(t, e.pcap)
	})
	e.kernBefore = kernelCounters(t, e.kern)
	e.ourBefore = e.ourCounters()
	return e
}

// stop stops our driver: no packet leaves or arrives after it, and the
// capture is complete.
func (e *env) stop() {
	if e.stopped {
		return
	}
	e.stopped = true
	// The counters before Close: a write racing with the devices'
	// closing is the driver's shutdown, not the case's traffic.
	s := e.drv.Stats()
	if err := e.drv.Close(); err != nil {
		e.t.Errorf("driver close: %v", err)
	}
	if err := e.drv.Err(); err != nil {
		e.t.Errorf("driver: %v", err)
	}
	if s.Drops != 0 || s.ReadErrors != 0 || s.WriteErrors != 0 {
		e.t.Errorf("driver dropped or failed: %+v", s)
	}
}

// path returns path n.
func (e *env) path(n int) lab.Path { return e.tp.Paths[n-1] }

// ourAddr is our stack's address on path n.
func (e *env) ourAddr(n int) netip.Addr {
	p := e.path(n)
	if e.side == ourClient {
		return p.ClientStack.Get(e.v6)
	}
	return p.ServerStack.Get(e.v6)
}

// kernAddr is the kernel's address on path n.
func (e *env) kernAddr(n int) netip.Addr {
	p := e.path(n)
	if e.side == ourClient {
		return p.Server.Get(e.v6)
	}
	return p.Client.Get(e.v6)
}

// waitFor polls cond until it holds or the case's time runs out.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitSubflows waits until our connection has n established subflows.
func waitSubflows(t *testing.T, c *mptcp.Conn, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d established subflows", n), func() bool {
		k := 0
		for _, s := range c.Info().Subflows {
			if s.Established {
				k++
			}
		}
		return k == n
	})
}

// logInfo logs our connection's subflows, for the reader of a failure.
func logInfo(t *testing.T, c *mptcp.Conn) {
	t.Helper()
	ci := c.Info()
	t.Logf("ours: state %v fellback %v (%s) checksum %v sent %d received %d acked %d send-buffered %d receive-buffered %d (buffer %d)",
		ci.State, ci.FellBack, ci.FallbackReason, ci.Checksum, ci.BytesSent, ci.BytesReceived, ci.BytesAcked, ci.SendBuffered, ci.ReceiveBuffered, ci.ReceiveBuffer)
	for _, s := range ci.Subflows {
		t.Logf("  subflow %d %v -> %v ids %d/%d initial %v join %v backup %v (local %v peer %v) estab %v %v sent %d received %d",
			s.ID, s.Local, s.Remote, s.LocalID, s.RemoteID, s.Initial, s.Join, s.Backup, s.LocalBackup, s.PeerBackup, s.Established, s.State, s.BytesSent, s.BytesReceived)
	}
}

// keepCapture copies a failed case's capture to $INTEROP_PCAP_DIR, if
// set, before t.TempDir goes.
func keepCapture(t *testing.T, path string) {
	dir := os.Getenv("INTEROP_PCAP_DIR")
	if dir == "" || !(t.Failed() || testing.Verbose()) {
		return
	}
	b, err := os.ReadFile(path)
	if err == nil {
		base := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
		name := base + ".pcap"
		for i := 2; ; i++ { // keep earlier runs' captures
			if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
				break
			}
			name = fmt.Sprintf("%s-%d.pcap", base, i)
		}
		err = os.WriteFile(filepath.Join(dir, name), b, 0o644)
		if err == nil {
			t.Logf("capture kept in %s", filepath.Join(dir, name))
		}
	}
	if err != nil {
		t.Logf("keeping the capture: %v", err)
	}
}
