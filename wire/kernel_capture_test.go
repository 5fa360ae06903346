package wire

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// The reference captures of the Linux kernel's MPTCP in testdata/kernel
// (see its README).
const (
	captureJoinDSS  = "testdata/kernel/kernel-join-dss.pcap"
	captureChecksum = "testdata/kernel/kernel-addaddr-checksum.pcap"
)

// capPacket is one TCP segment of a capture with its options decoded.
type capPacket struct {
	frame    int // 1-based, as Wireshark numbers frames
	src, dst netip.Addr
	tcp      TCP
	opts     TCPOptions
	// complete is false when the capture's snap length cut the payload.
	complete bool
}

func (p *capPacket) mp() *MPTCPOptions { return &p.opts.MPTCP }

// sll2HeaderLen is the Linux cooked v2 header (LINKTYPE_LINUX_SLL2): the
// protocol type comes first, then interface index, ARPHRD type, packet
// type and link-layer address.
const sll2HeaderLen = 20

// readKernelCapture reads a Linux cooked v2 capture and decodes the TCP
// header and options of each IPv4 or IPv6 packet. Every option must decode
// without error.
func readKernelCapture(t *testing.T, path string) []capPacket {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if r.LinkType() != layers.LinkTypeLinuxSLL2 {
		t.Fatalf("%s: link type %v, want Linux SLL2", path, r.LinkType())
	}
	var pkts []capPacket
	for frame := 1; ; frame++ {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s frame %d: %v", path, frame, err)
		}
		if len(data) < sll2HeaderLen {
			t.Fatalf("%s frame %d: %d bytes, shorter than the SLL2 header", path, frame, len(data))
		}
		proto := binary.BigEndian.Uint16(data)
		ip := data[sll2HeaderLen:]
		p := capPacket{frame: frame, complete: ci.CaptureLength == ci.Length}
		var seg []byte
		switch proto {
		case 0x0800:
			if len(ip) < IPv4MinHeaderLen || ip[9] != ProtoTCP {
				continue
			}
			if p.complete {
				var ipProto uint8
				p.src, p.dst, ipProto, seg, err = ParseIP(ip)
				if err != nil || ipProto != ProtoTCP {
					t.Fatalf("%s frame %d: ParseIP: %v (protocol %d)", path, frame, err, ipProto)
				}
			} else {
				// ParseIP rightly refuses a packet shorter than its total
				// length; the TCP header is still whole, so take it by hand.
				hl := int(ip[0]&0x0f) * 4
				p.src, p.dst = netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
				seg = ip[hl:]
			}
		default:
			continue
		}
		p.tcp, err = ParseTCP(seg)
		if err != nil {
			t.Fatalf("%s frame %d: ParseTCP: %v", path, frame, err)
		}
		if err := ParseTCPOptions(p.tcp.Options(), p.tcp.Flags(), &p.opts); err != nil {
			t.Errorf("%s frame %d: options % x: %v", path, frame, p.tcp.Options(), err)
		}
		pkts = append(pkts, p)
	}
	return pkts
}

// subtypesSeen returns the union of the MPTCP subtypes in pkts.
func subtypesSeen(pkts []capPacket) MPTCPSubtypeSet {
	var s MPTCPSubtypeSet
	for i := range pkts {
		s |= pkts[i].mp().Present
	}
	return s
}

func TestKernelCapturesDecode(t *testing.T) {
	for _, tc := range []struct {
		path string
		want []MPTCPSubtype
	}{
		{captureJoinDSS, []MPTCPSubtype{SubtypeMPCapable, SubtypeMPJoin, SubtypeDSS, SubtypeMPFastclose, SubtypeMPTCPRst}},
		{captureChecksum, []MPTCPSubtype{SubtypeMPCapable, SubtypeMPJoin, SubtypeDSS, SubtypeAddAddr}},
	} {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			pkts := readKernelCapture(t, tc.path)
			seen := subtypesSeen(pkts)
			for _, st := range tc.want {
				if !seen.Has(st) {
					t.Errorf("no %v option decoded; saw %v", st, seen)
				}
			}
			if seen.Unknown() {
				t.Errorf("unknown subtypes decoded: %v", seen)
			}
			// Every form of the handshakes is in each capture.
			capForms := map[MPCapableForm]bool{}
			joinForms := map[MPJoinForm]bool{}
			for i := range pkts {
				mp := pkts[i].mp()
				if mp.Has(SubtypeMPCapable) {
					capForms[mp.Capable.Form] = true
					if mp.Capable.Version != 1 || mp.Capable.Flags&MPCapableHMACSHA256 == 0 {
						t.Errorf("frame %d: MP_CAPABLE version %d flags %v", pkts[i].frame, mp.Capable.Version, mp.Capable.Flags)
					}
				}
				if mp.Has(SubtypeMPJoin) {
					joinForms[mp.Join.Form] = true
				}
			}
			for _, f := range []MPCapableForm{MPCapableSYN, MPCapableSYNACK, MPCapableACK} {
				if !capForms[f] {
					t.Errorf("no MP_CAPABLE %v form", f)
				}
			}
			for _, f := range []MPJoinForm{MPJoinSYN, MPJoinSYNACK, MPJoinACK} {
				if !joinForms[f] {
					t.Errorf("no MP_JOIN %v form", f)
				}
			}
		})
	}
}

// tsharkKeys are the token and IDSN that Wireshark derives from each
// MP_CAPABLE sender's key in the reference captures, read with
//
//	tshark -r FILE -Y tcp.options.mptcp.sendkey -T fields -e frame.number \
//	    -e tcp.options.mptcp.sendkey -e mptcp.expected_token -e mptcp.expected_idsn
//
// (TShark 4.0.17). They are the test vectors for KeyToken and KeyIDSN.
var tsharkKeys = []struct {
	key   uint64
	token uint32
	idsn  uint64
}{
	// kernel-join-dss.pcap frames 2, 3, 17, 18
	{91806660314680770, 3286584737, 6009547163280355002},
	{5147386309736406121, 3270254822, 17816345073457671968},
	{8347111862755514418, 1151132559, 5615374823714186478},
	{462608915501967687, 4147594323, 692327688196000773},
	// kernel-addaddr-checksum.pcap frames 2, 3, 19, 20
	{6153906962879795825, 907629263, 14699635105205171110},
	{15608578683717154130, 3728480336, 4655128650338428987},
	{16947485654757071805, 2453638549, 13414795234718669934},
	{18148266010195172120, 37937880, 4456372429016436731},
}

func TestKeyTokenIDSNMatchesWireshark(t *testing.T) {
	for _, v := range tsharkKeys {
		tok, idsn := KeyTokenIDSN(v.key)
		if tok != v.token || idsn != v.idsn {
			t.Errorf("key %d: token %d idsn %d, Wireshark says %d and %d", v.key, tok, idsn, v.token, v.idsn)
		}
		if KeyToken(v.key) != v.token || KeyIDSN(v.key) != v.idsn {
			t.Errorf("key %d: KeyToken/KeyIDSN disagree with KeyTokenIDSN", v.key)
		}
	}
}

// TestKernelCaptureKeys checks that every key decoded from the captures'
// MP_CAPABLE options is one of the Wireshark vectors, so the decoder read
// the keys where Wireshark did.
func TestKernelCaptureKeys(t *testing.T) {
	known := map[uint64]bool{}
	for _, v := range tsharkKeys {
		known[v.key] = true
	}
	for _, path := range []string{captureJoinDSS, captureChecksum} {
		n := 0
		for _, p := range readKernelCapture(t, path) {
			if !p.mp().Has(SubtypeMPCapable) || p.mp().Capable.Form == MPCapableSYN {
				continue
			}
			c := p.mp().Capable
			n++
			if !known[c.SenderKey] {
				t.Errorf("%s frame %d: sender key %d is not one Wireshark shows", path, p.frame, c.SenderKey)
			}
			if c.Form != MPCapableSYNACK && !known[c.ReceiverKey] {
				t.Errorf("%s frame %d: receiver key %d is not one Wireshark shows", path, p.frame, c.ReceiverKey)
			}
		}
		if n == 0 {
			t.Errorf("%s: no MP_CAPABLE with keys", path)
		}
	}
}

// TestKernelCaptureTokensAgainstTshark runs tshark on the captures and
// compares its token and IDSN for each sender's key with ours.
func TestKernelCaptureTokensAgainstTshark(t *testing.T) {
	tshark := needTshark(t)
	for _, path := range []string{captureJoinDSS, captureChecksum} {
		out, err := exec.Command(tshark, "-r", path, "-Y", "tcp.options.mptcp.sendkey", "-T", "fields",
			"-e", "frame.number", "-e", "tcp.options.mptcp.sendkey", "-e", "mptcp.expected_token", "-e", "mptcp.expected_idsn").Output()
		if err != nil {
			t.Fatalf("tshark %s: %v", path, err)
		}
		pkts := readKernelCapture(t, path)
		lines := 0
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			f := strings.Split(sc.Text(), "\t")
			if len(f) != 4 {
				t.Fatalf("tshark line %q", sc.Text())
			}
			lines++
			frame, _ := strconv.Atoi(f[0])
			key, _ := strconv.ParseUint(f[1], 10, 64)
			token, _ := strconv.ParseUint(f[2], 10, 32)
			idsn, _ := strconv.ParseUint(f[3], 10, 64)
			if frame < 1 || frame > len(pkts)+1 {
				t.Fatalf("tshark frame %d out of range", frame)
			}
			p := findFrame(pkts, frame)
			if p == nil || !p.mp().Has(SubtypeMPCapable) || p.mp().Capable.SenderKey != key {
				t.Errorf("%s frame %d: tshark sees sender key %d, we decoded %+v", path, frame, key, p)
				continue
			}
			gt, gi := KeyTokenIDSN(key)
			if uint64(gt) != token || gi != idsn {
				t.Errorf("%s frame %d key %d: token %d idsn %d, tshark %d %d", path, frame, key, gt, gi, token, idsn)
			}
		}
		if lines == 0 {
			t.Errorf("%s: tshark found no MP_CAPABLE keys", path)
		}
	}
}

func findFrame(pkts []capPacket, frame int) *capPacket {
	for i := range pkts {
		if pkts[i].frame == frame {
			return &pkts[i]
		}
	}
	return nil
}

// mpConn is one MPTCP connection of a capture: its keys from the
// MP_CAPABLE third ACK (sent by the client).
type mpConn struct {
	clientKey, serverKey uint64
	client, server       netip.Addr
}

func captureConns(t *testing.T, pkts []capPacket) []mpConn {
	t.Helper()
	var conns []mpConn
	for _, p := range pkts {
		if mp := p.mp(); mp.Has(SubtypeMPCapable) && mp.Capable.Form == MPCapableACK {
			conns = append(conns, mpConn{mp.Capable.SenderKey, mp.Capable.ReceiverKey, p.src, p.dst})
		}
	}
	if len(conns) == 0 {
		t.Fatal("no MP_CAPABLE third ACK")
	}
	return conns
}

// TestKernelCaptureJoinHMACs follows each MP_JOIN handshake: the SYN's
// token names a connection; the SYN/ACK's truncated HMAC and the third
// ACK's HMAC must be the ones computed from that connection's keys and the
// two nonces.
func TestKernelCaptureJoinHMACs(t *testing.T) {
	for _, path := range []string{captureJoinDSS, captureChecksum} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			pkts := readKernelCapture(t, path)
			conns := captureConns(t, pkts)
			joins := 0
			for i, p := range pkts {
				if !p.mp().Has(SubtypeMPJoin) || p.mp().Join.Form != MPJoinSYN {
					continue
				}
				syn := p.mp().Join
				var c *mpConn
				for k := range conns {
					if KeyToken(conns[k].serverKey) == syn.Token {
						c = &conns[k]
					}
				}
				if c == nil {
					t.Fatalf("frame %d: MP_JOIN token %d matches no connection", p.frame, syn.Token)
				}
				// The SYN/ACK and third ACK of this subflow follow.
				var synack, ack *MPJoin
				for j := i + 1; j < len(pkts) && (synack == nil || ack == nil); j++ {
					q := &pkts[j]
					if !q.mp().Has(SubtypeMPJoin) || q.tcp.SrcPort()^q.tcp.DstPort() != p.tcp.SrcPort()^p.tcp.DstPort() {
						continue
					}
					switch q.mp().Join.Form {
					case MPJoinSYNACK:
						synack = &q.mp().Join
					case MPJoinACK:
						ack = &q.mp().Join
					}
				}
				if synack == nil || ack == nil {
					t.Fatalf("frame %d: MP_JOIN handshake incomplete", p.frame)
				}
				if got := JoinSynAckHMAC(c.serverKey, c.clientKey, synack.Nonce, syn.Nonce); got != synack.TruncatedHMAC {
					t.Errorf("frame %d: SYN/ACK HMAC %#x, computed %#x", p.frame, synack.TruncatedHMAC, got)
				}
				if got := JoinAckHMAC(c.clientKey, c.serverKey, syn.Nonce, synack.Nonce); got != ack.HMAC {
					t.Errorf("frame %d: ACK HMAC %x, computed %x", p.frame, ack.HMAC, got)
				}
				joins++
			}
			if joins == 0 {
				t.Fatal("no MP_JOIN handshake")
			}
		})
	}
}

// TestKernelCaptureAddAddrHMAC checks the ADD_ADDR the server announces:
// its HMAC is keyed with the server's key then the client's, over the
// address ID, the address and a zero port; the echo repeats the address.
func TestKernelCaptureAddAddrHMAC(t *testing.T) {
	pkts := readKernelCapture(t, captureChecksum)
	conns := captureConns(t, pkts)
	announced, echoed := 0, 0
	for _, p := range pkts {
		if !p.mp().Has(SubtypeAddAddr) {
			continue
		}
		a := p.mp().AddAddr
		if a.Addr != netip.MustParseAddr("10.2.0.1") || a.AddrID != 1 || a.HasPort {
			t.Errorf("frame %d: ADD_ADDR %+v, want id 1 10.2.0.1 without port", p.frame, a)
		}
		if a.Echo {
			echoed++
			continue
		}
		announced++
		ok := false
		for _, c := range conns {
			if c.server == p.src && AddAddrHMAC(c.serverKey, c.clientKey, a.AddrID, a.Addr, 0) == a.HMAC {
				ok = true
				// RFC 8684 writes Msg=(Address ID + IP Address + Port);
				// the kernel includes the two port bytes even when the
				// option has none. Leaving them out must not verify.
				m := hmac.New(sha256.New, binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, c.serverKey), c.clientKey))
				m.Write([]byte{a.AddrID, 10, 2, 0, 1})
				if binary.BigEndian.Uint64(m.Sum(nil)[24:]) == a.HMAC {
					t.Errorf("frame %d: HMAC also verifies without the port bytes", p.frame)
				}
			}
		}
		if !ok {
			t.Errorf("frame %d: ADD_ADDR HMAC %#x verifies with no connection's keys", p.frame, a.HMAC)
		}
	}
	if announced == 0 || echoed == 0 {
		t.Fatalf("%d ADD_ADDR, %d echoes; want both", announced, echoed)
	}
}

// TestKernelCaptureDSSChecksums verifies the DSS checksum of every mapping
// whose data is wholly in one captured segment, and of every DATA_FIN
// mapping that carries no data. With checksums negotiated every mapping
// must carry one.
func TestKernelCaptureDSSChecksums(t *testing.T) {
	pkts := readKernelCapture(t, captureChecksum)
	checked, finOnly := 0, 0
	for _, p := range pkts {
		mp := p.mp()
		if !mp.Has(SubtypeDSS) || !mp.DSS.HasMap {
			continue
		}
		d := mp.DSS
		if !d.HasChecksum {
			t.Errorf("frame %d: mapping without checksum on a checksummed connection", p.frame)
			continue
		}
		payload := p.tcp.Payload()
		switch {
		case !p.complete:
			continue
		case int(d.DataLen) == len(payload) && len(payload) > 0:
			checked++
		case d.DataFIN && d.DataLen == 1 && len(payload) == 0:
			finOnly++
		default:
			continue // the mapping spans several segments
		}
		if !DSSChecksumValid(d.DSN, d.SubflowSeq, d.DataLen, d.Checksum, payload) {
			t.Errorf("frame %d: DSS checksum %#04x does not verify (dsn %d ssn %d len %d, %d bytes)",
				p.frame, d.Checksum, d.DSN, d.SubflowSeq, d.DataLen, len(payload))
		}
		if got := DSSChecksum(d.DSN, d.SubflowSeq, d.DataLen, payload); got != d.Checksum {
			t.Errorf("frame %d: DSSChecksum %#04x, kernel sent %#04x", p.frame, got, d.Checksum)
		}
	}
	if checked < 5 || finOnly == 0 {
		t.Fatalf("checked %d data mappings and %d DATA_FIN mappings; the capture has more", checked, finOnly)
	}
}

// TestKernelCaptureMPCapableData checks the data-carrying MP_CAPABLE of the
// first capture: its data-level length covers the segment's payload.
func TestKernelCaptureMPCapableData(t *testing.T) {
	n := 0
	for _, p := range readKernelCapture(t, captureJoinDSS) {
		if mp := p.mp(); mp.Has(SubtypeMPCapable) && mp.Capable.Form == MPCapableData {
			n++
			if int(mp.Capable.DataLen) != len(p.tcp.Payload()) || mp.Capable.HasChecksum {
				t.Errorf("frame %d: data-level length %d (checksum %t), payload %d", p.frame, mp.Capable.DataLen, mp.Capable.HasChecksum, len(p.tcp.Payload()))
			}
		}
	}
	if n == 0 {
		t.Fatal("no MP_CAPABLE data form")
	}
}

// TestKernelCaptureFastcloseRst checks the end of the first capture: the
// server resets both subflows with MP_FASTCLOSE carrying the client's key
// and MP_TCPRST.
func TestKernelCaptureFastcloseRst(t *testing.T) {
	pkts := readKernelCapture(t, captureJoinDSS)
	conns := captureConns(t, pkts)
	n := 0
	for _, p := range pkts {
		mp := p.mp()
		if !mp.Has(SubtypeMPFastclose) {
			continue
		}
		n++
		if !p.tcp.Flags().Has(FlagRST) || !mp.Has(SubtypeMPTCPRst) {
			t.Errorf("frame %d: MP_FASTCLOSE without RST and MP_TCPRST", p.frame)
		}
		found := false
		for _, c := range conns {
			found = found || c.clientKey == mp.Fastclose.ReceiverKey
		}
		if !found {
			t.Errorf("frame %d: MP_FASTCLOSE key %d is no client's key", p.frame, mp.Fastclose.ReceiverKey)
		}
		if mp.Rst.Reason > MPTCPRstReasonMiddleboxInterferes {
			t.Errorf("frame %d: MP_TCPRST reason %v", p.frame, mp.Rst.Reason)
		}
	}
	if n == 0 {
		t.Fatal("no MP_FASTCLOSE")
	}
}
