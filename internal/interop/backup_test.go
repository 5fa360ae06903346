//go:build linux

package interop

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/mptcp-go/mptcp"
	"github.com/mptcp-go/mptcp/core"
)

// subflowDelta is what one subflow carried between two snapshots.
func subflowDelta(t *testing.T, before, after mptcp.ConnInfo, id int) (sent, rcvd uint64) {
	t.Helper()
	find := func(ci mptcp.ConnInfo) core.SubflowInfo {
		for _, s := range ci.Subflows {
			if s.ID == id {
				return s
			}
		}
		t.Fatalf("ours: subflow %d is gone", id)
		return core.SubflowInfo{}
	}
	b, a := find(before), find(after)
	return a.BytesSent - b.BytesSent, a.BytesReceived - b.BytesReceived
}

// TestBackup: a backup subflow carries no data while a regular one
// works, in either direction, however it became a backup: the MP_JOIN
// backup bit from a kernel `backup` endpoint (SYN from the kernel's
// client, SYN/ACK from the kernel's server), an MP_PRIO from the kernel
// (ip mptcp endpoint change ... backup), or our own DialOptions.Backup
// on the initial subflow, which only an MP_PRIO can tell the kernel.
func TestBackup(t *testing.T) {
	cases := []struct {
		name  string
		side  side
		flags []string // the kernel's path-2 endpoint
		// prio: the kernel turns its endpoint into a backup once the join
		// is up (MP_PRIO).
		prio bool
		// dialBackup: our client dials with DialOptions.Backup and joins
		// from its path-2 address.
		dialBackup bool
	}{
		{name: "OurServer/JoinSYN", side: ourServer, flags: []string{"subflow", "backup"}},
		{name: "OurClient/JoinSYNACK", side: ourClient, flags: []string{"signal", "backup"}},
		{name: "OurServer/KernelMPPrio", side: ourServer, flags: []string{"subflow"}, prio: true},
		{name: "OurClient/KernelMPPrio", side: ourClient, flags: []string{"signal"}, prio: true},
		{name: "OurClient/DialBackup", side: ourClient, dialBackup: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ec := envConfig{side: tc.side, paths: 2}
			if tc.dialBackup {
				ec.ourPaths = []int{1, 2}
			}
			e := newEnv(t, ec)
			e.endpoint(tc.flags...)
			cs := e.connect(connOpts{dial: mptcp.Dialer{Backup: tc.dialBackup}})
			x := e.startMultipath(cs, 2)
			if tc.prio {
				e.kern.Run(t, "ip", "mptcp", "endpoint", "change", "id", strconv.Itoa(kernelEndpointID), "backup")
			}
			// The backup subflow: the join, or our initial subflow.
			ci := cs.ours.Info()
			bk := joinSubflow(t, ci)
			if tc.dialBackup {
				for _, s := range ci.Subflows {
					if s.Initial {
						bk = s
					}
				}
			}
			if tc.prio {
				waitFor(t, "the kernel's MP_PRIO", func() bool {
					for _, s := range cs.ours.Info().Subflows {
						if s.ID == bk.ID {
							return s.PeerBackup
						}
					}
					return false
				})
			}
			before := cs.ours.Info()
			if err := x.exchange(size); err != nil {
				e.failed(cs, err)
			}
			after := cs.ours.Info()
			logInfo(t, cs.ours)
			sent, rcvd := subflowDelta(t, before, after, bk.ID)
			t.Logf("the backup subflow carried %d bytes from us, %d from the kernel", sent, rcvd)
			// The kernel must not either, if it knows.
			// With DialOptions.Backup, only our MP_PRIO tells the kernel
			// (finding F4, fixed in 592df78); otherwise the kernel told us.
			if !tc.dialBackup {
				var b core.SubflowInfo
				for _, s := range after.Subflows {
					if s.ID == bk.ID {
						b = s
					}
				}
				if !b.PeerBackup {
					t.Errorf("ours: the subflow %v -> %v is not marked as the peer's backup", b.Local, b.Remote)
				}
			}
			e.close(cs, x)
			switch {
			case tc.dialBackup:
				e.checkKernel("MPPrioRx>=1")
				e.checkOurs("MPPrioTx>=1")
			case tc.prio:
				e.checkKernel("MPPrioTx>=1")
				e.checkOurs("MPPrioRx>=1")
			case tc.side == ourServer:
				e.checkKernel("MPJoinSynTx=1")
				e.checkOurs("MPJoinSynBackupRx=1", "MPJoinSynRx=1")
			default:
				e.checkKernel("MPJoinSynRx=1", "MPJoinSynBackupRx=0")
				e.checkOurs("MPJoinSynAckBackupRx=1", "MPJoinSynAckRx=1")
			}
			e.stop()
			// Neither side sends new data of the main exchange (after the
			// first smallSize bytes each way; data sequence numbers start
			// at 1) on a backup subflow it knows of while a regular one
			// works (RFC 8684 section 3.3.8). Both may reinject there: the
			// kernel's retransmission picks a backup subflow when the
			// regular ones have data in flight. And the kernel's scheduler
			// counts a regular subflow whose send queue is full as not
			// available (mptcp_subflow_get_send), so while our receive
			// window holds it back it may put some new data on the backup
			// too: from the kernel, the suite allows an eighth of the
			// exchange; from us, nothing.
			for _, ours := range []bool{true, false} {
				who := "we"
				if !ours {
					who = "the kernel"
				}
				segs, ok := e.sentData(ours)
				if !ok {
					t.Log("tshark not installed: the use of the backup subflow is not checked")
					break
				}
				from, to := bk.Local, bk.Remote
				if !ours {
					from, to = to, from
				}
				fresh, again := newDataOn(segs, from, to, smallSize+1)
				t.Logf("%s sent %d new and %d reinjected bytes over the backup subflow", who, fresh, again)
				limit := uint64(0)
				if !ours {
					limit = size / 8
				}
				if fresh > limit {
					t.Errorf("%s sent %d bytes of new data over the backup subflow %v -> %v (at most %d allowed)", who, fresh, from, to, limit)
				}
			}
			if tc.prio || tc.dialBackup {
				lines, ok := e.wire(fmt.Sprintf("tcp.options.mptcp.subtype == %d", subMPPrio), "tcp.options.mptcp.backup.flag")
				if ok && (len(lines) == 0 || lines[0] != "1") {
					t.Errorf("MP_PRIO on the wire: backup flags %q, want 1", lines)
				}
			}
			e.finish()
		})
	}
}
