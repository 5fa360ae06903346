package tcp

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

// finishPartial completes a TCP checksum left partial as a driver does
// (Linux's CHECKSUM_PARTIAL): the field holds the pseudo-header sum, and
// the one's complement sum runs over the TCP segment, that field included.
func finishPartial(seg wire.TCP) {
	initial := seg.Checksum()
	seg.SetChecksum(0)
	binary.BigEndian.PutUint16(seg[16:], ^wire.Checksum(seg, initial))
}

// TestOffloadChecksumsTx checks what a stack told that its driver
// completes TCP checksums sends: every segment (handshake, data both
// ways, FIN) carries the pseudo-header sum in its checksum field, and
// finishing it from there gives the checksum the segment would have
// carried otherwise; over IPv4 and IPv6. The peer, told that its driver
// verified what it delivers, takes them, and the streams arrive intact.
func TestOffloadChecksumsTx(t *testing.T) {
	for _, fam := range []struct {
		name   string
		a, b   netip.Addr
		server netip.AddrPort
	}{{"IPv4", addrA, addrB, ap(addrB, 80)}, {"IPv6", addr6A, addr6B, ap(addr6B, 80)}} {
		t.Run(fam.name, func(t *testing.T) {
			n := newTestNet(t, time.Millisecond)
			a, b := n.pair(nil, nil)
			a.OffloadChecksums(true, false)
			b.OffloadChecksums(false, true)
			var fromA, fromB int
			n.tap = func(p []byte) {
				src, dst, _, pl, err := wire.ParseIP(p)
				if err != nil {
					t.Fatalf("a packet does not parse: %v", err)
				}
				seg := wire.TCP(pl)
				if src != fam.a {
					fromB++
					if !seg.ValidChecksum(src, dst) {
						t.Errorf("a stack computing its checksums sent a bad one (seq %d)", seg.Seq())
					}
					return
				}
				fromA++
				if got, want := seg.Checksum(), wire.PseudoHeaderChecksum(wire.ProtoTCP, src, dst, uint32(len(seg))); got != want {
					t.Fatalf("checksum field %#x, want the pseudo-header sum %#x", got, want)
				}
				full := append(wire.TCP(nil), seg...)
				finishPartial(full)
				if !full.ValidChecksum(src, dst) || full.Checksum() != full.ComputeChecksum(src, dst) {
					t.Errorf("finished, the checksum of segment seq %d is wrong", seg.Seq())
				}
			}
			l, err := b.Listen(fam.server, nil)
			if err != nil {
				t.Fatal(err)
			}
			c, err := a.Dial(n.now, fam.server, nil)
			if err != nil {
				t.Fatal(err)
			}
			var sc *Conn
			if !n.runUntil(5*time.Second, func() bool {
				if sc == nil {
					sc, _ = l.Accept()
				}
				return sc != nil && c.State() == StateEstablished
			}) {
				t.Fatal("no connection")
			}
			ca, sa := newApp(c, 5, 200<<10), newApp(sc, 5^0xff, 100<<10)
			ca.closeOnDone, sa.closeOnDone = true, true
			n.pumps = append(n.pumps, ca.pump, sa.pump)
			if !n.runUntil(10*time.Second, func() bool { return ca.eof && sa.eof }) {
				t.Fatalf("transfer stalled: server got %d, client got %d", sa.got, ca.got)
			}
			checkApps(t, ca, sa)
			if sa.got != 200<<10 || ca.got != 100<<10 {
				t.Fatalf("server got %d, client got %d", sa.got, ca.got)
			}
			if fromA == 0 || fromB == 0 {
				t.Fatalf("%d segments from the offloading stack, %d from its peer", fromA, fromB)
			}
			if e := a.Stats().InCsumErrors + b.Stats().InCsumErrors; e != 0 {
				t.Fatalf("%d checksum errors", e)
			}
		})
	}
}

// TestOffloadChecksumsRx checks that only a driver's word turns
// verification off: a stack not told drops a corrupted segment and counts
// it; told that its driver verified what it delivers, it takes the
// segment as it comes.
func TestOffloadChecksumsRx(t *testing.T) {
	n, _, b, c, _ := established(t, nil)
	from, to := c.LocalAddr(), c.RemoteAddr()
	p := craft(from, to, 100, 5000, wire.FlagACK, 100, nil, nil)
	p[len(p)-1] ^= 0xff
	inject(n, b, p)
	if got := b.Stats().InCsumErrors; got != 1 {
		t.Fatalf("a corrupted segment counted %d times, want once", got)
	}
	b.OffloadChecksums(false, true)
	inject(n, b, p)
	if got := b.Stats().InCsumErrors; got != 1 {
		t.Fatalf("told its driver verified the segment, the stack counted %d checksum errors, want still 1", got)
	}
}
