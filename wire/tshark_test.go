package wire

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/pcap"
)

// needTshark returns the path of tshark, or skips the test when it is not
// installed.
func needTshark(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark is not installed (Debian package tshark); skipping the Wireshark cross-check")
	}
	return p
}

// tsharkPkt is one packet of the capture TestTsharkDissectsEveryOption
// writes, with the fields tshark must show for it. A field's expected
// value is every occurrence in the packet, joined by commas.
type tsharkPkt struct {
	name         string
	src, dst     netip.Addr
	sport, dport uint16
	seq, ack     uint32
	flags        TCPFlags
	opts         []mptcpValue
	payload      []byte
	want         map[string]string
	// allow lists expert warnings expected for this packet.
	allow []string
}

// The hosts and keys of the capture: connection 1 is IPv4 client A to
// server B with a join from A's second address; connection 2 is IPv6 with
// DSS checksums; connection 3 offers version 0; the remaining resets each
// carry one MP_TCPRST reason.
var (
	tsA1, tsA2, tsB = netip.MustParseAddr("10.1.0.2"), netip.MustParseAddr("10.2.0.2"), netip.MustParseAddr("10.1.0.1")
	tsC, tsD        = netip.MustParseAddr("2001:db8:1::2"), netip.MustParseAddr("2001:db8:1::1")

	tsKeyA, tsKeyB = uint64(0x1a2b3c4d5e6f7081), uint64(0x8172635445362718)
	tsKeyC, tsKeyD = uint64(0x0102030405060708), uint64(0xf0e0d0c0b0a09080)
	tsNonceA       = uint32(0x11223344)
	tsNonceB       = uint32(0x55667788)
)

func u64(v uint64) string { return strconv.FormatUint(v, 10) }
func u32(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

// tsharkPackets builds the capture: every MPTCP subtype and form, within
// TCP conversations coherent enough that Wireshark's analysis follows them.
func tsharkPackets() []tsharkPkt {
	const c, s = 1000, 5000 // initial sequence numbers of connection 1
	idsnA, idsnB := KeyIDSN(tsKeyA), KeyIDSN(tsKeyB)
	pay := func(n int) []byte { return bytes.Repeat([]byte{'m'}, n) }
	mpc := func(f MPCapableForm, flags MPCapableFlags) *MPCapable {
		return &MPCapable{Form: f, Version: 1, Flags: flags, SenderKey: tsKeyA, ReceiverKey: tsKeyB}
	}
	synack := mpc(MPCapableSYNACK, MPCapableHMACSHA256)
	synack.SenderKey = tsKeyB
	data := mpc(MPCapableData, MPCapableHMACSHA256)
	data.DataLen = 10
	v6Addr := netip.MustParseAddr("2001:db8:2::1")
	synackHMAC := JoinSynAckHMAC(tsKeyB, tsKeyA, tsNonceB, tsNonceA)
	ackHMAC := JoinAckHMAC(tsKeyA, tsKeyB, tsNonceA, tsNonceB)

	conn1 := func(p tsharkPkt, fromClient bool) tsharkPkt {
		p.src, p.dst, p.sport, p.dport = tsA1, tsB, 40000, 80
		if !fromClient {
			p.src, p.dst, p.sport, p.dport = tsB, tsA1, 80, 40000
		}
		return p
	}
	addAddr := func(id uint8, addr netip.Addr, port uint16, echo bool) *AddAddr {
		a := &AddAddr{Echo: echo, AddrID: id, Addr: addr, HasPort: port != 0, Port: port}
		if !echo {
			a.HMAC = AddAddrHMAC(tsKeyB, tsKeyA, id, addr, port)
		}
		return a
	}
	addrWant := func(a *AddAddr) map[string]string {
		w := map[string]string{"tcp.options.mptcp.subtype": "3", "tcp.options.mptcp.addrid": fmt.Sprint(a.AddrID),
			"tcp.options.mptcp.echo": map[bool]string{true: "1", false: "0"}[a.Echo]}
		if a.Addr.Is4() {
			w["tcp.options.mptcp.ipv4"] = a.Addr.String()
		} else {
			w["tcp.options.mptcp.ipv6"] = a.Addr.String()
		}
		if a.HasPort {
			w["tcp.options.mptcp.port"] = fmt.Sprint(a.Port)
		} else {
			w["tcp.options.mptcp.port"] = ""
		}
		if !a.Echo {
			w["tcp.options.mptcp.addaddrtrunchmac"] = u64(a.HMAC)
		} else {
			w["tcp.options.mptcp.addaddrtrunchmac"] = ""
		}
		return w
	}
	// Options in pure ACKs are sent on ACKs that also open the window a
	// little, so that Wireshark does not take them for duplicate ACKs.
	var pkts []tsharkPkt
	add := func(p tsharkPkt) { pkts = append(pkts, p) }

	// Connection 1: the MP_CAPABLE handshake and data form.
	add(conn1(tsharkPkt{name: "MP_CAPABLE SYN", seq: c, flags: FlagSYN, opts: []mptcpValue{mpc(MPCapableSYN, MPCapableHMACSHA256)},
		want: map[string]string{"tcp.options.mptcp.subtype": "0", "tcp.options.mptcp.version": "1", "tcp.options.mptcp.flags": "0x01",
			"tcp.options.mptcp.sha256.flag": "1", "tcp.options.mptcp.checksumreq.flags": "0"}}, true))
	add(conn1(tsharkPkt{name: "MP_CAPABLE SYN/ACK", seq: s, ack: c + 1, flags: FlagSYN | FlagACK, opts: []mptcpValue{synack},
		want: map[string]string{"tcp.options.mptcp.subtype": "0", "tcp.options.mptcp.sendkey": u64(tsKeyB),
			"mptcp.expected_token": u32(KeyToken(tsKeyB)), "mptcp.expected_idsn": u64(idsnB)}}, false))
	add(conn1(tsharkPkt{name: "MP_CAPABLE ACK", seq: c + 1, ack: s + 1, flags: FlagACK, opts: []mptcpValue{mpc(MPCapableACK, MPCapableHMACSHA256)},
		want: map[string]string{"tcp.options.mptcp.subtype": "0", "tcp.options.mptcp.sendkey": u64(tsKeyA), "tcp.options.mptcp.recvkey": u64(tsKeyB),
			"mptcp.expected_token": u32(KeyToken(tsKeyA)), "mptcp.expected_idsn": u64(idsnA)}}, true))
	add(conn1(tsharkPkt{name: "MP_CAPABLE data", seq: c + 1, ack: s + 1, flags: FlagACK | FlagPSH, opts: []mptcpValue{data}, payload: pay(10),
		want: map[string]string{"tcp.options.mptcp.subtype": "0", "tcp.options.mptcp.sendkey": u64(tsKeyA), "tcp.options.mptcp.recvkey": u64(tsKeyB),
			"tcp.options.mptcp.datalvllen": "10"}}, true))
	add(conn1(tsharkPkt{name: "DSS ack64", seq: s + 1, ack: c + 11, flags: FlagACK, opts: []mptcpValue{&DSS{HasAck: true, Ack64: true, DataAck: idsnA + 11}},
		want: map[string]string{"tcp.options.mptcp.subtype": "2", "tcp.options.mptcp.flags": "0x03", "tcp.options.mptcp.rawdataack": u64(idsnA + 11),
			"tcp.options.mptcp.dataack8.flag": "1"}}, false))
	add(conn1(tsharkPkt{name: "DSS ack32 map64", seq: c + 11, ack: s + 1, flags: FlagACK | FlagPSH,
		opts:    []mptcpValue{&DSS{HasAck: true, DataAck: idsnB + 1, HasMap: true, DSN64: true, DSN: idsnA + 11, SubflowSeq: 11, DataLen: 20}},
		payload: pay(20),
		want: map[string]string{"tcp.options.mptcp.subtype": "2", "tcp.options.mptcp.flags": "0x0d", "tcp.options.mptcp.rawdataack": u64((idsnB + 1) & 0xffffffff),
			"tcp.options.mptcp.rawdataseqno": u64(idsnA + 11), "tcp.options.mptcp.subflowseqno": "11", "tcp.options.mptcp.datalvllen": "20"}}, true))
	add(conn1(tsharkPkt{name: "DSS map32", seq: s + 1, ack: c + 31, flags: FlagACK | FlagPSH,
		opts:    []mptcpValue{&DSS{HasAck: true, DataAck: idsnA + 31, HasMap: true, DSN: (idsnB + 1) & 0xffffffff, SubflowSeq: 1, DataLen: 5}},
		payload: pay(5),
		want: map[string]string{"tcp.options.mptcp.subtype": "2", "tcp.options.mptcp.flags": "0x05", "tcp.options.mptcp.rawdataseqno": u64((idsnB + 1) & 0xffffffff),
			"tcp.options.mptcp.dseqn8.flag": "0", "tcp.options.mptcp.datalvllen": "5"}}, false))

	// Address management, on ACKs from the server and echoes from the client.
	ack, win := uint32(c+31), uint16(1000)
	for i, pair := range []struct {
		id   uint8
		addr netip.Addr
		port uint16
	}{{1, tsA2, 0}, {2, tsA2, 8080}, {3, v6Addr, 0}, {4, v6Addr, 443}} {
		win++
		a := addAddr(pair.id, pair.addr, pair.port, false)
		add(conn1(tsharkPkt{name: fmt.Sprintf("ADD_ADDR %d", i), seq: s + 6, ack: ack, flags: FlagACK, opts: []mptcpValue{a}, want: addrWant(a)}, false))
		e := addAddr(pair.id, pair.addr, pair.port, true)
		add(conn1(tsharkPkt{name: fmt.Sprintf("ADD_ADDR echo %d", i), seq: ack, ack: s + 6, flags: FlagACK, opts: []mptcpValue{e}, want: addrWant(e)}, true))
		pkts[len(pkts)-2].want["tcp.window_size_value"] = fmt.Sprint(win)
		pkts[len(pkts)-1].want["tcp.window_size_value"] = fmt.Sprint(win)
	}

	// Connection 1's join from A's second address.
	join := func(p tsharkPkt, fromClient bool) tsharkPkt {
		p.src, p.dst, p.sport, p.dport = tsA2, tsB, 40001, 80
		if !fromClient {
			p.src, p.dst, p.sport, p.dport = tsB, tsA2, 80, 40001
		}
		return p
	}
	add(join(tsharkPkt{name: "MP_JOIN SYN", seq: 7000, flags: FlagSYN,
		opts: []mptcpValue{&MPJoin{Form: MPJoinSYN, Backup: true, AddrID: 1, Token: KeyToken(tsKeyB), Nonce: tsNonceA}},
		want: map[string]string{"tcp.options.mptcp.subtype": "1", "tcp.options.mptcp.backup.flag": "1", "tcp.options.mptcp.addrid": "1",
			"tcp.options.mptcp.recvtok": u32(KeyToken(tsKeyB)), "tcp.options.mptcp.sendrand": u32(tsNonceA)}}, true))
	add(join(tsharkPkt{name: "MP_JOIN SYN/ACK", seq: 9000, ack: 7001, flags: FlagSYN | FlagACK,
		opts: []mptcpValue{&MPJoin{Form: MPJoinSYNACK, AddrID: 0, TruncatedHMAC: synackHMAC, Nonce: tsNonceB}},
		want: map[string]string{"tcp.options.mptcp.subtype": "1", "tcp.options.mptcp.backup.flag": "0", "tcp.options.mptcp.addrid": "0",
			"tcp.options.mptcp.sendtrunchmac": u64(synackHMAC), "tcp.options.mptcp.sendrand": u32(tsNonceB)}}, false))
	add(join(tsharkPkt{name: "MP_JOIN ACK", seq: 7001, ack: 9001, flags: FlagACK,
		opts: []mptcpValue{&MPJoin{Form: MPJoinACK, HMAC: ackHMAC}},
		want: map[string]string{"tcp.options.mptcp.subtype": "1", "tcp.options.mptcp.sendhmac": hex.EncodeToString(ackHMAC[:])}}, true))
	add(join(tsharkPkt{name: "MP_PRIO", seq: 9001, ack: 7001, flags: FlagACK,
		opts: []mptcpValue{&DSS{HasAck: true, DataAck: idsnA + 31}, &MPPrio{Backup: true}},
		want: map[string]string{"tcp.options.mptcp.subtype": "2,5", "tcp.options.mptcp.backup.flag": "1"}}, false))
	add(join(tsharkPkt{name: "MP_PRIO address id", seq: 7001, ack: 9001, flags: FlagACK, opts: []mptcpValue{&MPPrio{HasAddrID: true, AddrID: 1}},
		want: map[string]string{"tcp.options.mptcp.subtype": "5", "tcp.options.mptcp.backup.flag": "0", "tcp.options.mptcp.addrid": "1"}}, true))

	rm := &RemoveAddr{Count: 3, IDs: [MaxRemoveAddrIDs]uint8{2, 3, 4}}
	add(conn1(tsharkPkt{name: "REMOVE_ADDR", seq: s + 6, ack: c + 31, flags: FlagACK, opts: []mptcpValue{rm},
		want: map[string]string{"tcp.options.mptcp.subtype": "4", "mptcp.rm_addr.count": "3", "tcp.options.mptcp.addrid": "2,3,4"}}, false))
	add(conn1(tsharkPkt{name: "MP_FAIL", seq: c + 31, ack: s + 6, flags: FlagACK,
		opts: []mptcpValue{&DSS{HasAck: true, Ack64: true, DataAck: idsnB + 6}, &MPFail{DSN: idsnB + 1}},
		want: map[string]string{"tcp.options.mptcp.subtype": "2,6"}}, true))
	add(conn1(tsharkPkt{name: "DATA_FIN", seq: c + 31, ack: s + 6, flags: FlagACK,
		opts: []mptcpValue{&DSS{HasAck: true, Ack64: true, DataAck: idsnB + 6, HasMap: true, DSN64: true, DSN: idsnA + 31, DataLen: 1, DataFIN: true}},
		want: map[string]string{"tcp.options.mptcp.subtype": "2", "tcp.options.mptcp.flags": "0x1f", "tcp.options.mptcp.datafin.flag": "1",
			"tcp.options.mptcp.rawdataseqno": u64(idsnA + 31), "tcp.options.mptcp.subflowseqno": "0", "tcp.options.mptcp.datalvllen": "1"}}, true))
	add(conn1(tsharkPkt{name: "MP_FASTCLOSE and MP_TCPRST", seq: s + 6, ack: c + 31, flags: FlagRST | FlagACK,
		opts: []mptcpValue{&MPFastclose{ReceiverKey: tsKeyA}, &MPTCPRst{Flags: MPTCPRstTransient, Reason: MPTCPRstReasonMPTCPError}},
		want: map[string]string{"tcp.options.mptcp.subtype": "7,8", "tcp.options.mptcp.recvkey": u64(tsKeyA),
			"tcp.options.mptcp.flag_T.flag": "1", "tcp.options.mptcp.flag_U.flag": "0", "tcp.options.mptcp.rst_reason": "0x01"}}, false))

	// Connection 2, IPv6, with checksums.
	idsnC := KeyIDSN(tsKeyC)
	conn2 := func(p tsharkPkt, fromClient bool) tsharkPkt {
		p.src, p.dst, p.sport, p.dport = tsC, tsD, 40002, 443
		if !fromClient {
			p.src, p.dst, p.sport, p.dport = tsD, tsC, 443, 40002
		}
		return p
	}
	csumFlags := MPCapableChecksum | MPCapableHMACSHA256
	add(conn2(tsharkPkt{name: "IPv6 MP_CAPABLE SYN checksum", seq: 100, flags: FlagSYN,
		opts: []mptcpValue{&MPCapable{Form: MPCapableSYN, Version: 1, Flags: csumFlags}},
		want: map[string]string{"tcp.options.mptcp.subtype": "0", "tcp.options.mptcp.flags": "0x81", "tcp.options.mptcp.checksumreq.flags": "1",
			"tcp.options.mptcp.nomoresubflows.flag": "0"}}, true))
	add(conn2(tsharkPkt{name: "IPv6 MP_CAPABLE SYN/ACK", seq: 200, ack: 101, flags: FlagSYN | FlagACK,
		opts: []mptcpValue{&MPCapable{Form: MPCapableSYNACK, Version: 1, Flags: csumFlags, SenderKey: tsKeyD}},
		want: map[string]string{"tcp.options.mptcp.sendkey": u64(tsKeyD), "mptcp.expected_token": u32(KeyToken(tsKeyD))}}, false))
	payload := []byte("hello, multipath world")
	mpcData := &MPCapable{Form: MPCapableData, Version: 1, Flags: csumFlags, SenderKey: tsKeyC, ReceiverKey: tsKeyD,
		DataLen: uint16(len(payload)), HasChecksum: true, Checksum: DSSChecksum(idsnC+1, 1, uint16(len(payload)), payload)}
	add(conn2(tsharkPkt{name: "IPv6 MP_CAPABLE data checksum", seq: 101, ack: 201, flags: FlagACK | FlagPSH, opts: []mptcpValue{mpcData}, payload: payload,
		want: map[string]string{"tcp.options.mptcp.sendkey": u64(tsKeyC), "tcp.options.mptcp.recvkey": u64(tsKeyD),
			"mptcp.expected_token": u32(KeyToken(tsKeyC)), "tcp.options.mptcp.datalvllen": fmt.Sprint(len(payload)),
			"tcp.options.mptcp.checksum": fmt.Sprintf("0x%04x", mpcData.Checksum)}}, true))
	more := []byte("second mapping")
	dss := &DSS{HasAck: true, Ack64: true, DataAck: KeyIDSN(tsKeyD) + 1, HasMap: true, DSN64: true, DSN: idsnC + 1 + uint64(len(payload)),
		SubflowSeq: 1 + uint32(len(payload)), DataLen: uint16(len(more)), HasChecksum: true}
	dss.Checksum = DSSChecksum(dss.DSN, dss.SubflowSeq, dss.DataLen, more)
	// Wireshark 4.0 does not show the DSS checksum field; it must still
	// dissect the option, checksum and all, without complaint.
	add(conn2(tsharkPkt{name: "IPv6 DSS checksum", seq: 101 + uint32(len(payload)), ack: 201, flags: FlagACK | FlagPSH, opts: []mptcpValue{dss}, payload: more,
		want: map[string]string{"tcp.options.mptcp.subtype": "2", "tcp.options.mptcp.flags": "0x0f", "tcp.options.mptcp.rawdataseqno": u64(dss.DSN),
			"tcp.options.mptcp.subflowseqno": u32(dss.SubflowSeq), "tcp.options.mptcp.datalvllen": u32(uint32(dss.DataLen))}}, true))

	// Connection 3 offers version 0, whose SYN carries a key.
	add(tsharkPkt{name: "MP_CAPABLE v0 SYN", src: tsA1, dst: tsB, sport: 40003, dport: 80, seq: 300, flags: FlagSYN,
		opts: []mptcpValue{&MPCapable{Form: MPCapableSYN, Version: 0, Flags: MPCapableHMACSHA256, SenderKey: tsKeyC}},
		want: map[string]string{"tcp.options.mptcp.subtype": "0", "tcp.options.mptcp.version": "0", "tcp.options.mptcp.sendkey": u64(tsKeyC),
			"tcp.options.mptcp.sha1.flag": "1"}})

	// Connection 4 sets flag C. Wireshark 4.0 reads flags C to H as the
	// RFC 6824 crypto algorithm bits and so warns of an unsupported one.
	add(tsharkPkt{name: "MP_CAPABLE SYN flag C", src: tsA1, dst: tsB, sport: 40004, dport: 80, seq: 500, flags: FlagSYN,
		opts: []mptcpValue{&MPCapable{Form: MPCapableSYN, Version: 1, Flags: MPCapableDenyJoinID0 | MPCapableHMACSHA256}},
		want: map[string]string{"tcp.options.mptcp.subtype": "0", "tcp.options.mptcp.flags": "0x21", "tcp.options.mptcp.nomoresubflows.flag": "1",
			"tcp.options.mptcp.sha256.flag": "1"},
		allow: []string{"Unsupported algorithm"}})

	// One reset per MP_TCPRST reason, each on its own subflow.
	for r := MPTCPRstReasonUnspecified; r <= MPTCPRstReasonMiddleboxInterferes; r++ {
		add(tsharkPkt{name: "MP_TCPRST " + r.String(), src: tsB, dst: tsA2, sport: 80, dport: 41000 + uint16(r), seq: 400, flags: FlagRST,
			opts: []mptcpValue{&MPTCPRst{Flags: MPTCPRstFlagU | MPTCPRstFlagW, Reason: r}},
			want: map[string]string{"tcp.options.mptcp.subtype": "8", "tcp.options.mptcp.flag_U.flag": "1", "tcp.options.mptcp.flag_V.flag": "0",
				"tcp.options.mptcp.flag_W.flag": "1", "tcp.options.mptcp.flag_T.flag": "0", "tcp.options.mptcp.rst_reason": fmt.Sprintf("0x%02x", uint8(r))}})
	}
	return pkts
}

// encodeTsharkPkt builds p's IP packet with the option builder.
func encodeTsharkPkt(t *testing.T, p *tsharkPkt, win uint16) []byte {
	var ob OptionBuilder
	for _, o := range p.opts {
		if err := addValue(&ob, o); err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
	}
	if w, ok := p.want["tcp.window_size_value"]; ok {
		n, _ := strconv.Atoi(w)
		win = uint16(n)
	}
	f := TCPFields{SrcPort: p.sport, DstPort: p.dport, Seq: p.seq, Ack: p.ack, Flags: p.flags, Window: win}
	return AppendTCPPacket(nil, p.src, p.dst, &f, ob.Bytes(), p.payload)
}

// tsharkFields are the fields read from tshark for every packet.
var tsharkFields = []string{
	"frame.number", "_ws.malformed", "_ws.expert.severity", "_ws.expert.message",
	"tcp.window_size_value",
	"tcp.options.mptcp.subtype", "tcp.options.mptcp.version", "tcp.options.mptcp.flags",
	"tcp.options.mptcp.checksumreq.flags", "tcp.options.mptcp.nomoresubflows.flag", "tcp.options.mptcp.sha256.flag", "tcp.options.mptcp.sha1.flag",
	"tcp.options.mptcp.sendkey", "tcp.options.mptcp.recvkey", "mptcp.expected_token", "mptcp.expected_idsn",
	"tcp.options.mptcp.datalvllen", "tcp.options.mptcp.checksum",
	"tcp.options.mptcp.backup.flag", "tcp.options.mptcp.addrid", "tcp.options.mptcp.recvtok", "tcp.options.mptcp.sendrand",
	"tcp.options.mptcp.sendtrunchmac", "tcp.options.mptcp.sendhmac",
	"tcp.options.mptcp.rawdataack", "tcp.options.mptcp.rawdataseqno", "tcp.options.mptcp.subflowseqno",
	"tcp.options.mptcp.dataack8.flag", "tcp.options.mptcp.dseqn8.flag", "tcp.options.mptcp.datafin.flag",
	"tcp.options.mptcp.echo", "tcp.options.mptcp.ipv4", "tcp.options.mptcp.ipv6", "tcp.options.mptcp.port", "tcp.options.mptcp.addaddrtrunchmac",
	"mptcp.rm_addr.count",
	"tcp.options.mptcp.flag_U.flag", "tcp.options.mptcp.flag_V.flag", "tcp.options.mptcp.flag_W.flag", "tcp.options.mptcp.flag_T.flag",
	"tcp.options.mptcp.rst_reason",
}

// runTshark dissects path and returns, per frame, each field's
// occurrences joined by commas.
func runTshark(t *testing.T, tshark, path string) []map[string]string {
	args := []string{"-r", path, "-o", "mptcp.analyze_mptcp:TRUE", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,", "-E", "separator=/t"}
	for _, f := range tsharkFields {
		args = append(args, "-e", f)
	}
	cmd := exec.Command(tshark, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, stderr.String())
	}
	var frames []map[string]string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		vals := strings.Split(sc.Text(), "\t")
		if len(vals) != len(tsharkFields) {
			t.Fatalf("tshark line has %d fields, want %d: %q", len(vals), len(tsharkFields), sc.Text())
		}
		m := map[string]string{}
		for i, f := range tsharkFields {
			m[f] = vals[i]
		}
		frames = append(frames, m)
	}
	return frames
}

// TestTsharkDissectsEveryOption writes a capture of every MPTCP subtype and
// form, built by this package, with the project's pcap writer, and has
// tshark dissect it: each option must be recognised with the values
// written, tshark's token and IDSN for each key must be ours, and no packet
// may be malformed or draw an expert warning or error.
func TestTsharkDissectsEveryOption(t *testing.T) {
	tshark := needTshark(t)
	pkts := tsharkPackets()
	path := filepath.Join(t.TempDir(), "mptcp-options.pcap")
	if p := os.Getenv("MPTCP_TSHARK_PCAP"); p != "" {
		path = p // keep the capture to look at it in Wireshark
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pcap.NewWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	var seen MPTCPSubtypeSet
	for i := range pkts {
		pkt := encodeTsharkPkt(t, &pkts[i], 1000)
		// Our own decoder reads back what tshark will.
		_, _, _, seg, err := ParseIP(pkt)
		if err != nil {
			t.Fatal(err)
		}
		tcp, _ := ParseTCP(seg)
		var o TCPOptions
		if err := ParseTCPOptions(tcp.Options(), tcp.Flags(), &o); err != nil {
			t.Fatalf("%s: %v", pkts[i].name, err)
		}
		seen |= o.MPTCP.Present
		if err := w.WritePacket(time.Unix(1700000000, 0).Add(time.Duration(i)*time.Millisecond), pkt); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for st := SubtypeMPCapable; st <= SubtypeMPTCPRst; st++ {
		if !seen.Has(st) {
			t.Fatalf("the capture has no %v", st)
		}
	}

	frames := runTshark(t, tshark, path)
	if len(frames) != len(pkts) {
		t.Fatalf("tshark read %d frames, we wrote %d", len(frames), len(pkts))
	}
	for i, p := range pkts {
		got := frames[i]
		if got["_ws.malformed"] != "" {
			t.Errorf("frame %d (%s): malformed: %q", i+1, p.name, got["_ws.expert.message"])
		}
		sev := strings.Split(got["_ws.expert.severity"], ",")
		msg := strings.Split(got["_ws.expert.message"], ",")
		for k, s := range sev {
			// Severity values: 0x00200000 chat, 0x00400000 note,
			// 0x00600000 warning, 0x00800000 error. Chat and notes are
			// TCP analysis remarks ("SYN without MSS", "duplicate ACK").
			n, err := strconv.ParseUint(s, 0, 32)
			if err != nil || n < 0x00600000 {
				continue
			}
			m := ""
			if k < len(msg) {
				m = msg[k]
			}
			if (m == "Connection reset (RST)" && p.flags.Has(FlagRST)) || slices.Contains(p.allow, m) {
				continue
			}
			t.Errorf("frame %d (%s): expert info severity %s: %s", i+1, p.name, s, m)
		}
		for field, want := range p.want {
			if got[field] != want {
				t.Errorf("frame %d (%s): %s = %q, want %q", i+1, p.name, field, got[field], want)
			}
		}
	}
}
