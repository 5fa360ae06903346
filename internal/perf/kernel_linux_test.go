//go:build linux

package perf

import (
	"context"
	"net"
	"testing"
	"time"
)

// kernelPair runs a test between kernel sockets on loopback, MPTCP ones
// if mptcp is set.
func kernelPair(t *testing.T, mptcp bool, p Params) (*Report, *Report) {
	t.Helper()
	var lc net.ListenConfig
	lc.SetMultipathTCP(mptcp)
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	res := serveOne(t, &Server{}, ln)
	cl := &Client{Params: p, Interval: 100 * time.Millisecond, Dial: func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		d.SetMultipathTCP(mptcp)
		return d.DialContext(ctx, "tcp", ln.Addr().String())
	}}
	rep, err := cl.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sr := <-res
	if sr.err != nil {
		t.Fatal(sr.err)
	}
	return rep, sr.rep
}

func TestKernelTCPInspect(t *testing.T) {
	rep, srep := kernelPair(t, false, Params{Duration: 300 * time.Millisecond, Verify: true})
	for _, r := range []*Report{rep, srep} {
		cs := r.Streams[0].Conn
		if cs.Stack != "kernel" || cs.MPTCP || cs.FellBack || len(cs.Subflows) != 1 {
			t.Fatalf("%s: %+v, want one kernel TCP subflow", r.Role, cs)
		}
		if sf := cs.Subflows[0]; sf.Local != r.Streams[0].Local || sf.Remote != r.Streams[0].Remote {
			t.Errorf("%s: subflow %s > %s, connection %s > %s", r.Role, sf.Local, sf.Remote, r.Streams[0].Local, r.Streams[0].Remote)
		}
	}
	// The client sent: its subflow's acknowledged bytes are what it
	// wrote, give or take the hello, the SYN and what was not yet
	// acknowledged when the figures were read; the server's received
	// bytes likewise.
	sent := rep.Local.Streams[0].Final.Subflows[0].BytesSent
	got := srep.Local.Streams[0].Final.Subflows[0].BytesReceived
	if !near(sent, rep.Local.Bytes) {
		t.Errorf("client subflow acked %d bytes, the client wrote %d", sent, rep.Local.Bytes)
	}
	if !near(got, srep.Local.Bytes) {
		t.Errorf("server subflow received %d bytes, the server read %d", got, srep.Local.Bytes)
	}
	if len(rep.Intervals) == 0 || len(rep.Intervals[0].Streams[0].Subflows) != 1 || rep.Intervals[0].Streams[0].Subflows[0].SRTT <= 0 {
		t.Errorf("intervals without subflow figures: %+v", rep.Intervals)
	}
}

func TestKernelMPTCPInspect(t *testing.T) {
	rep, srep := kernelPair(t, true, Params{Duration: 300 * time.Millisecond, Verify: true})
	cs := rep.Streams[0].Conn
	if !cs.MPTCP {
		t.Skipf("the kernel here does not speak MPTCP on loopback (%+v)", cs)
	}
	for _, r := range []*Report{rep, srep} {
		cs := r.Local.Streams[0].Final
		if cs.Stack != "kernel" || !cs.MPTCP || len(cs.Subflows) != 1 {
			t.Fatalf("%s: %+v, want one kernel MPTCP subflow", r.Role, cs)
		}
		if sf := cs.Subflows[0]; sf.Local != r.Streams[0].Local || sf.Remote != r.Streams[0].Remote || sf.SRTT <= 0 || sf.Cwnd <= 0 {
			t.Errorf("%s: subflow %+v, connection %s > %s", r.Role, sf, r.Streams[0].Local, r.Streams[0].Remote)
		}
	}
	sent := rep.Local.Streams[0].Final.Subflows[0].BytesSent
	if !near(sent, rep.Local.Bytes) {
		t.Errorf("client subflow acked %d bytes, the client wrote %d", sent, rep.Local.Bytes)
	}
}

// near reports whether a subflow's byte count is within 1% or 256 KiB of
// the stream's.
func near(sf uint64, stream int64) bool {
	d := int64(sf) - stream
	return d < max(stream/100, 256<<10) && -d < max(stream/100, 256<<10)
}
