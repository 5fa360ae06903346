//go:build linux

package interop

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/mptcp-go/mptcp"
	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/internal/lab"
)

// kernelEndpointID is the address ID of the kernel endpoint a case adds
// on path 2: fixed, so that ip mptcp endpoint del and the IDs on the
// wire can name it.
const kernelEndpointID = 7

// endpoint adds an in-kernel path-manager endpoint for the kernel's path-2
// address with the given flags (signal, subflow, backup), and raises the
// kernel's limits so that joins and announcements are taken.
func (e *env) endpoint(flags ...string) {
	e.t.Helper()
	if err := e.kern.MPTCPLimits(4, 4); err != nil {
		e.t.Fatal(err)
	}
	if len(flags) == 0 {
		return
	}
	if err := e.kern.AddMPTCPEndpoint(lab.Endpoint{Addr: e.kernAddr(2), ID: kernelEndpointID, Flags: flags}); err != nil {
		e.t.Fatal(err)
	}
}

// joinSubflow returns our connection's one joined subflow.
func joinSubflow(t *testing.T, ci mptcp.ConnInfo) core.SubflowInfo {
	t.Helper()
	var js []core.SubflowInfo
	for _, s := range ci.Subflows {
		if s.Join {
			js = append(js, s)
		}
	}
	if len(js) != 1 {
		t.Fatalf("ours: %d joined subflows, want 1", len(js))
	}
	return js[0]
}

// subflowsCarried checks that the data of the exchange went over the
// subflows: their byte counts add up to what the connection moved.
func subflowsCarried(t *testing.T, ci mptcp.ConnInfo) {
	t.Helper()
	var sent, rcvd uint64
	for _, s := range ci.Subflows {
		sent += s.BytesSent
		rcvd += s.BytesReceived
	}
	if sent < ci.BytesSent || rcvd < ci.BytesReceived {
		t.Errorf("subflows carried %d sent / %d received, the connection %d / %d", sent, rcvd, ci.BytesSent, ci.BytesReceived)
	}
}

// TestJoin: a second subflow over path 2, opened by either side: our
// path manager (fullmesh) opens it from our second address to the
// kernel's server; the kernel's client opens it from a `subflow`
// endpoint to our server. 4 MiB go each way over both subflows.
func TestJoin(t *testing.T) {
	for _, sd := range sides {
		for _, fam := range families {
			t.Run(sd.String()+"/"+fam.name, func(t *testing.T) {
				t.Parallel()
				ec := envConfig{side: sd, v6: fam.v6, paths: 2}
				if sd == ourClient {
					ec.ourPaths = []int{1, 2}
				}
				e := newEnv(t, ec)
				if sd == ourClient {
					e.endpoint() // limits only: the kernel's server accepts the join
				} else {
					e.endpoint("subflow")
				}
				cs := e.connect(connOpts{})
				x := e.startMultipath(cs, 2)
				if err := x.exchange(size); err != nil {
					e.failed(cs, err)
				}
				ci := cs.ours.Info()
				logInfo(t, cs.ours)
				js := joinSubflow(t, ci)
				if js.Local.Addr() != e.ourAddr(2) && js.Remote.Addr() != e.kernAddr(2) {
					t.Errorf("joined subflow %v -> %v is not on path 2", js.Local, js.Remote)
				}
				subflowsCarried(t, ci)
				if js.BytesSent+js.BytesReceived == 0 {
					t.Error("the joined subflow carried no data")
				}
				if err := x.shutdown(); err != nil {
					e.failed(cs, err)
				}
				if !kernelMPTCP(cs.kernel) {
					t.Error("the kernel's socket is not using MPTCP")
				}
				cs.kernel.Close()
				cs.ours.Close()
				waitClosed(t, cs.ours)
				if sd == ourClient {
					e.checkKernel("MPCapableSYNRX=1", "MPJoinSynRx=1", "MPJoinAckRx=1", "MPJoinRejected=0")
					e.checkOurs("MPJoinSynTx=1", "MPJoinSynAckRx=1", "MPJoinSynRx=0")
				} else {
					e.checkKernel("MPCapableSYNTX=1", "MPJoinSynTx=1", "MPJoinSynAckRx=1")
					e.checkOurs("MPJoinSynRx=1", "MPJoinAckRx=1", "MPJoinRejected=0", "MPJoinSynTx=0")
				}
				e.stop()
				if n := e.wireCount(fmt.Sprintf("tcp.options.mptcp.subtype == %d", subMPJoin)); n >= 0 && n < 3 {
					t.Errorf("%d packets with MP_JOIN, want the three of the handshake", n)
				}
				e.finish()
			})
		}
	}
}

// TestAddAddr: ADD_ADDR both ways. The kernel's server announces its
// path-2 address (a `signal` endpoint) and our client joins it; our
// server announces its path-2 address and the kernel's client joins it.
// The receiver echoes, and the join uses the announced address.
func TestAddAddr(t *testing.T) {
	for _, sd := range sides {
		for _, fam := range families {
			t.Run(sd.String()+"/"+fam.name, func(t *testing.T) {
				t.Parallel()
				ec := envConfig{side: sd, v6: fam.v6, paths: 2}
				if sd == ourServer {
					ec.ourPaths = []int{1, 2}
				}
				e := newEnv(t, ec)
				if sd == ourClient {
					e.endpoint("signal")
				} else {
					e.endpoint() // add_addr_accepted: the kernel's client joins what we announce
				}
				cs := e.connect(connOpts{})
				x := e.startMultipath(cs, 2)
				if err := x.exchange(size); err != nil {
					e.failed(cs, err)
				}
				ci := cs.ours.Info()
				js := joinSubflow(t, ci)
				announced := e.kernAddr(2)
				end := js.Remote.Addr()
				if sd == ourServer {
					announced, end = e.ourAddr(2), js.Local.Addr()
				}
				if end != announced {
					logInfo(t, cs.ours)
					t.Errorf("the joined subflow does not use the announced address %v", announced)
				}
				subflowsCarried(t, ci)
				e.close(cs, x)
				if sd == ourClient {
					e.checkKernel("AddAddrTx>=1", "EchoAdd=1", "MPJoinSynRx=1", "MPJoinAckRx=1")
					e.checkOurs("AddAddr=1", "EchoAddTx=1", "AddAddrHMacFailure=0", "MPJoinSynTx=1", "MPJoinSynAckRx=1")
				} else {
					e.checkKernel("AddAddr=1", "EchoAddTx=1", "AddAddrDrop=0", "MPJoinSynTx=1", "MPJoinSynAckRx=1")
					e.checkOurs("AddAddrTx>=1", "EchoAdd=1", "MPJoinSynRx=1", "MPJoinAckRx=1")
				}
				e.stop()
				// On the wire: the announcement (with HMAC) and its echo.
				ipField := "tcp.options.mptcp.ipv4"
				if fam.v6 {
					ipField = "tcp.options.mptcp.ipv6"
				}
				lines, ok := e.wire(fmt.Sprintf("tcp.options.mptcp.subtype == %d", subAddAddr), "tcp.options.mptcp.echo", ipField)
				if ok {
					var adds, echoes int
					for _, l := range lines {
						switch l {
						case "0," + announced.String():
							adds++
						case "1," + announced.String():
							echoes++
						default:
							t.Errorf("unexpected ADD_ADDR on the wire: echo,address = %s", l)
						}
					}
					if adds == 0 || echoes != 1 {
						t.Errorf("%d ADD_ADDRs and %d echoes of %v on the wire, want at least one and one", adds, echoes, announced)
					}
				}
				e.finish()
			})
		}
	}
}

// startMultipath starts a case's transfer with a first exchange, then
// waits for our connection to have n established subflows. Data must
// flow first: a client counts the connection fully established, and so
// opens or accepts joins, only once the server's first DSS acknowledges
// its key (RFC 8684 section 3.1; the kernel's check_fully_established),
// and neither side sends anything before data without a reason.
func (e *env) startMultipath(cs *conns, n int) *transfer {
	e.t.Helper()
	x := newTransfer(cs)
	if err := x.exchange(smallSize); err != nil {
		e.failed(cs, err)
	}
	waitSubflows(e.t, cs.ours, n)
	return x
}

// joinPort is the port an announcement in TestAddAddrPort carries.
const joinPort = 10000

// TestAddAddrPort: ADD_ADDR with a port, both ways: a kernel `signal`
// endpoint with a port (the kernel listens there for joins only), and our
// Config.Announce with a port. The other side joins that port.
func TestAddAddrPort(t *testing.T) {
	for _, sd := range sides {
		t.Run(sd.String(), func(t *testing.T) {
			t.Parallel()
			ec := envConfig{side: sd, paths: 2}
			if sd == ourServer {
				ec.ourPaths, ec.announcePort = []int{1, 2}, joinPort
			}
			e := newEnv(t, ec)
			if sd == ourClient {
				if err := e.kern.MPTCPLimits(4, 4); err != nil {
					t.Fatal(err)
				}
				if err := e.kern.AddMPTCPEndpoint(lab.Endpoint{Addr: e.kernAddr(2), ID: kernelEndpointID, Port: joinPort, Flags: []string{"signal"}}); err != nil {
					t.Fatal(err)
				}
			} else {
				e.endpoint()
			}
			cs := e.connect(connOpts{})
			x := newTransfer(cs)
			if err := x.exchange(smallSize); err != nil {
				e.failed(cs, err)
			}
			// The join to the announced port (our server announces its
			// path-2 address without a port too, and the kernel may join
			// that as well).
			want := netip.AddrPortFrom(e.kernAddr(2), joinPort)
			if sd == ourServer {
				want = netip.AddrPortFrom(e.ourAddr(2), joinPort)
			}
			var js core.SubflowInfo
			waitFor(t, "a join to "+want.String(), func() bool {
				for _, s := range cs.ours.Info().Subflows {
					end := s.Remote
					if sd == ourServer {
						end = s.Local
					}
					if s.Join && s.Established && end == want {
						js = s
						return true
					}
				}
				return false
			})
			if err := x.exchange(size); err != nil {
				e.failed(cs, err)
			}
			logInfo(t, cs.ours)
			e.close(cs, x)
			if sd == ourClient {
				e.checkKernel("AddAddrTx>=1", "EchoAdd=1", "MPJoinPortSynRx=1", "MPJoinPortAckRx=1", "MismatchPortSynRx=0")
				e.checkOurs("AddAddr=1", "PortAdd=1", "EchoAddTx=1", "MPJoinPortSynAckRx=1")
			} else {
				e.checkKernel("AddAddr>=1", "PortAdd=1", "EchoAddTx>=1", "MPJoinPortSynAckRx=1")
				e.checkOurs("AddAddrTx>=1", "EchoAdd>=1", "MPJoinPortSynRx=1", "MPJoinPortAckRx=1", "MismatchPortSynRx=0")
			}
			e.stop()
			lines, ok := e.wire(fmt.Sprintf("tcp.options.mptcp.subtype == %d && tcp.options.mptcp.port", subAddAddr),
				"tcp.options.mptcp.echo", "tcp.options.mptcp.ipv4", "tcp.options.mptcp.port")
			if ok {
				var adds, echoes int
				for _, l := range lines {
					switch l {
					case fmt.Sprintf("0,%v,%d", want.Addr(), joinPort):
						adds++
					case fmt.Sprintf("1,%v,%d", want.Addr(), joinPort):
						echoes++
					}
				}
				if adds == 0 || echoes == 0 {
					t.Errorf("ADD_ADDRs with a port on the wire %q; want %v announced and echoed", lines, want)
				}
			}
			if js.Local.Port() == 0 {
				t.Error("no join to the announced port")
			}
			e.finish()
		})
	}
}
