//go:build linux

package torture

import (
	"encoding/binary"
	"time"

	"github.com/mptcp-go/mptcp/wire"
)

// What the on-path attacks know: everything a capture of path 1 shows.
const onPath = "on-path: a capture of path 1 (the router mirrors it onto the attacker's link) gives the 4-tuple, "

// LiveCases returns the live cases, in a fixed order. Each attack is
// bounded in count and rate; the on-path ones go at the initial subflow
// (path 1) of every connection the attacker saw, toward its server.
func LiveCases() []Case {
	return []Case{
		{Name: "live/syn-flood", Live: &Attack{Blind: true, fire: synFlood,
			Knowledge: "blind: the servers' addresses and ports; 4,000 MP_CAPABLE SYNs at 2,000/s from random sources",
			Counters:  []string{"ours:MPCapableSYNRX", "ours:SyncookiesSent", "ours:MPCapableSYNCookie", "kernel:MPTcpExtMPCapableSYNRX", "kernel:TcpExtSyncookiesSent"}}},
		{Name: "live/join-flood-random", Live: &Attack{Blind: true, fire: joinFloodRandom,
			Knowledge: "blind: the servers' addresses and ports; 4,000 MP_JOIN SYNs with random tokens at 2,000/s",
			Counters:  []string{"ours:MPJoinNoTokenFound", "kernel:MPTcpExtMPJoinNoTokenFound"}}},
		{Name: "live/join-flood-token", Live: &Attack{fire: joinFloodToken,
			Knowledge: onPath + "and the server's key from the MP_CAPABLE handshake, so its token; 2,000 MP_JOIN SYNs at 1,000/s from random sources",
			Counters:  []string{"ours:MPJoinSynRx", "ours:MPJoinRejected", "kernel:MPTcpExtMPJoinSynRx", "kernel:MPTcpExtMPJoinRejected"}}},
		{Name: "live/add-addr-flood", Live: &Attack{fire: addAddrFlood,
			Knowledge: onPath + "sequence numbers, timestamps and both keys; 1,000 in-window ACKs at 500/s carrying ADD_ADDR, half with the right HMAC, half with a wrong one",
			Counters:  []string{"ours:AddAddr", "ours:AddAddrHMacFailure", "kernel:MPTcpExtAddAddr", "kernel:MPTcpExtAddAddrDrop"}}},
		{Name: "live/rst-in-window", Live: &Attack{fire: rstInWindow,
			Knowledge: onPath + "sequence numbers; 600 RSTs at 300/s: in the window but not at RCV.NXT, and out of it",
			Counters:  []string{"ours:ChallengeACKs", "ours:ChallengeLimited", "kernel:TcpExtTCPChallengeACK"}}},
		{Name: "live/rst-exact", MayEnd: true, Live: &Attack{fire: rstExact,
			Knowledge: onPath + "sequence numbers; 20 RSTs at 20/s at the RCV.NXT last seen (RFC 5961 accepts one that hits it: a subflow may end)",
			Counters:  []string{"ours:EstabResets", "ours:ChallengeACKs", "kernel:TcpEstabResets", "kernel:TcpExtTCPChallengeACK"}}},
		{Name: "live/fastclose-forged", Live: &Attack{fire: fastcloseForged,
			Knowledge: onPath + "sequence numbers, timestamps and the server's key; 400 MP_FASTCLOSE at 200/s: in the window with a wrong key, and with the right key out of the window",
			Counters:  []string{"ours:FastcloseBadKey", "ours:MPFastcloseRx", "kernel:MPTcpExtMPFastcloseRx"}}},
		fastcloseValidCase("ours"),
		fastcloseValidCase("kernel"),
		{Name: "live/malformed", Live: &Attack{fire: malformed,
			Knowledge: onPath + "sequence numbers and timestamps; 1,200 packets at 600/s: option lengths 0, 1, 2 and past the header, DSS and MP_CAPABLE of wrong lengths, TCP headers truncated or with data offsets below 5 and beyond the packet, and data at RCV.NXT with a bad checksum",
			Counters:  []string{"ours:InErrs", "ours:BadOptions", "ours:InCsumErrors", "kernel:TcpInErrs", "kernel:TcpInCsumErrors"}}},
		{Name: "live/forged-dss", Live: &Attack{fire: forgedDSS,
			Knowledge: onPath + "sequence numbers, timestamps, keys and the client's last DSS mapping; 600 segments at 300/s: junk ahead in the window mapped to conflicting data sequence numbers, and DATA_ACKs far ahead and behind",
			Counters:  []string{"ours:DSSConflictReplaced", "ours:DSSOutOfOrderDrop", "ours:DSSNotMatching", "kernel:MPTcpExtDSSNotMatching", "kernel:MPTcpExtDSSNoMatchTCP"}}},
	}
}

// fastcloseValidCase is live/fastclose-valid against one server: the
// outcomes differ (see docs/robustness.md).
func fastcloseValidCase(target string) Case {
	var limit time.Duration
	if target == "kernel" {
		// Linux resets every subflow with a bare MP_TCPRST: the clients
		// wait for a new subflow (RFC 8684's break before make), Linux
		// about a minute, ours NoSubflowTimeout (60 s), before failing.
		limit = 90 * time.Second
	}
	return Case{Name: "live/fastclose-valid/" + target, MayEnd: true, Live: &Attack{fire: fastcloseValid, Target: target, Limit: limit,
		Knowledge: onPath + "sequence numbers, timestamps and the server's key; 10 MP_FASTCLOSE with the right key at RCV.NXT to the " + target + " server (RFC 8684 3.5: the connection ends)",
		Counters:  []string{"ours:MPFastcloseRx", "ours:MPFastcloseTx", "kernel:MPTcpExtMPFastcloseRx"}}}
}

// synOptions returns the options of a Linux-like SYN plus opt.
func synOptions(a *attacker, mptcp func(b *wire.OptionBuilder) error) []byte {
	var b wire.OptionBuilder
	_ = b.AddMSS(1460)
	_ = b.AddSACKPermittedTimestamps(a.u32(), 0)
	_ = b.AddWindowScale(7)
	_ = mptcp(&b)
	return append([]byte(nil), b.Bytes()...)
}

// floodSYN builds a SYN with opts from a random blackholed source.
func floodSYN(a *attacker, i int, opts []byte) []byte {
	dst := a.servers[i%len(a.servers)]
	src := a.spoofed()
	f := wire.TCPFields{SrcPort: src.Port(), DstPort: dst.Port(), Seq: a.u32(), Flags: wire.FlagSYN, Window: 64240}
	return wire.AppendTCPPacket(nil, src.Addr(), dst.Addr(), &f, opts, nil)
}

func synFlood(a *attacker) error {
	return a.pace(4000, 2000, func(i int) []byte {
		return floodSYN(a, i, synOptions(a, func(b *wire.OptionBuilder) error {
			return b.AddMPCapable(&wire.MPCapable{Form: wire.MPCapableSYN, Version: 1, Flags: wire.MPCapableHMACSHA256})
		}))
	})
}

func joinSYN(a *attacker, token uint32) func(b *wire.OptionBuilder) error {
	return func(b *wire.OptionBuilder) error {
		return b.AddMPJoin(&wire.MPJoin{Form: wire.MPJoinSYN, AddrID: uint8(a.intn(256)), Token: token, Nonce: a.u32()})
	}
}

func joinFloodRandom(a *attacker) error {
	return a.pace(4000, 2000, func(i int) []byte { return floodSYN(a, i, synOptions(a, joinSYN(a, a.u32()))) })
}

// pick returns the i-th target, round robin over what the attacker sees
// now (nil if nothing).
func pick(a *attacker, i int) *view {
	ts := a.targets()
	if len(ts) == 0 {
		return nil
	}
	return &ts[i%len(ts)]
}

func joinFloodToken(a *attacker) error {
	return a.pace(2000, 1000, func(i int) []byte {
		v := pick(a, i)
		if v == nil {
			return nil
		}
		src := a.spoofed()
		f := wire.TCPFields{SrcPort: src.Port(), DstPort: v.server.Port(), Seq: a.u32(), Flags: wire.FlagSYN, Window: 64240}
		return wire.AppendTCPPacket(nil, src.Addr(), v.server.Addr(), &f, synOptions(a, joinSYN(a, wire.KeyToken(v.serverKey))), nil)
	})
}

// toServer builds a segment from v's client to its server with the
// client's latest timestamps, then the options add adds.
func toServer(v *view, seq, ack uint32, flags wire.TCPFlags, add func(b *wire.OptionBuilder) error, payload []byte) []byte {
	var b wire.OptionBuilder
	if v.ts {
		_ = b.AddTimestamps(v.tsVal, v.tsEcr)
	}
	if add != nil {
		_ = add(&b)
	}
	f := wire.TCPFields{SrcPort: v.client.Port(), DstPort: v.server.Port(), Seq: seq, Ack: ack, Flags: flags, Window: v.win}
	return wire.AppendTCPPacket(nil, v.client.Addr(), v.server.Addr(), &f, b.Bytes(), payload)
}

func addAddrFlood(a *attacker) error {
	return a.pace(1000, 500, func(i int) []byte {
		v := pick(a, i)
		if v == nil {
			return nil
		}
		addr := a.spoofed().Addr()
		id := uint8(10 + i%200)
		hmac := a.u64()
		if i%2 == 0 {
			hmac = wire.AddAddrHMAC(v.clientKey, v.serverKey, id, addr, 0)
		}
		return toServer(v, v.next, v.ack, wire.FlagACK, func(b *wire.OptionBuilder) error {
			return b.AddAddAddr(&wire.AddAddr{AddrID: id, Addr: addr, HMAC: hmac})
		}, nil)
	})
}

func rstInWindow(a *attacker) error {
	return a.pace(600, 300, func(i int) []byte {
		v := pick(a, i)
		if v == nil {
			return nil
		}
		var seq uint32
		switch i % 4 {
		case 0, 1: // in the window, at least two segments past RCV.NXT
			seq = v.next + 3000 + uint32(a.intn(20))*1000
		case 2:
			seq = v.next + 1<<30
		default:
			seq = v.next - 1<<20
		}
		fl := wire.FlagRST
		if i%2 == 1 {
			fl |= wire.FlagACK
		}
		return toServer(v, seq, v.ack, fl, nil, nil)
	})
}

func rstExact(a *attacker) error {
	return a.pace(20, 20, func(i int) []byte {
		v := pick(a, i)
		if v == nil {
			return nil
		}
		return toServer(v, v.next, v.ack, wire.FlagRST|wire.FlagACK, nil, nil)
	})
}

func fastclose(key uint64) func(b *wire.OptionBuilder) error {
	return func(b *wire.OptionBuilder) error { return b.AddMPFastclose(&wire.MPFastclose{ReceiverKey: key}) }
}

func fastcloseForged(a *attacker) error {
	return a.pace(400, 200, func(i int) []byte {
		v := pick(a, i)
		if v == nil {
			return nil
		}
		if i%2 == 0 {
			return toServer(v, v.next, v.ack, wire.FlagACK, fastclose(v.serverKey^uint64(1+a.intn(1<<30))), nil)
		}
		return toServer(v, v.next+1<<30, v.ack, wire.FlagACK, fastclose(v.serverKey), nil)
	})
}

func fastcloseValid(a *attacker) error {
	return a.pace(10, 10, func(i int) []byte {
		v := pick(a, i)
		if v == nil {
			return nil
		}
		return toServer(v, v.next, v.ack, wire.FlagACK, fastclose(v.serverKey), nil)
	})
}

// tsOption is the timestamps option, padded, as Linux sends it.
func tsOption(v *view) []byte {
	b := []byte{1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[4:], v.tsVal)
	binary.BigEndian.PutUint32(b[8:], v.tsEcr)
	return b
}

// badOptions are option bytes after the timestamps, each wrong in its own
// way (padded to a multiple of four with end-of-options).
var badOptions = [][]byte{
	{30, 0},                      // length 0
	{30, 1},                      // length 1
	{30, 2},                      // MPTCP without its subtype
	{30, 38, 0x20, 0x01},         // runs past the option space
	{30, 8, 0x20, 0x05, 1, 2},    // DSS whose flags want a mapping and a DATA_ACK in 8 bytes
	{30, 7, 0x01, 0x81, 1, 2, 3}, // MP_CAPABLE of length 7 on an established subflow
	{8, 3, 1},                    // timestamps of length 3
}

// rawSegment builds a segment from v's client with raw option bytes,
// then lets mangle change the TCP bytes; the checksum is computed over
// what mangle left, unless bad.
func rawSegment(v *view, seq uint32, opts, payload []byte, mangle func(seg []byte) []byte, bad bool) []byte {
	for len(opts)%4 != 0 {
		opts = append(opts, 0)
	}
	f := wire.TCPFields{SrcPort: v.client.Port(), DstPort: v.server.Port(), Seq: seq, Ack: v.ack, Flags: wire.FlagACK, Window: v.win}
	pkt := wire.AppendTCPPacket(nil, v.client.Addr(), v.server.Addr(), &f, opts, payload)
	seg := pkt[wire.IPv4MinHeaderLen:]
	if mangle != nil {
		seg = mangle(seg)
		pkt = append(pkt[:wire.IPv4MinHeaderLen], seg...)
		binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
		seg = pkt[wire.IPv4MinHeaderLen:]
	}
	if len(seg) >= 18 {
		seg[16], seg[17] = 0, 0
		sum := ^wire.Checksum(seg, wire.PseudoHeaderChecksum(wire.ProtoTCP, v.client.Addr(), v.server.Addr(), uint32(len(seg))))
		if bad {
			sum ^= 0x5a5a
		}
		binary.BigEndian.PutUint16(seg[16:], sum)
	}
	return pkt
}

func malformed(a *attacker) error {
	return a.pace(1200, 600, func(i int) []byte {
		v := pick(a, i)
		if v == nil {
			return nil
		}
		ts := tsOption(v)
		k := i % (len(badOptions) + 4)
		switch {
		case k < len(badOptions):
			return rawSegment(v, v.next, append(ts, badOptions[k]...), nil, nil, false)
		case k == len(badOptions): // only 12 bytes of TCP header
			return rawSegment(v, v.next, ts, nil, func(s []byte) []byte { return s[:12] }, false)
		case k == len(badOptions)+1: // data offset 15 in a 32-byte segment
			return rawSegment(v, v.next, ts, nil, func(s []byte) []byte { s[12] = 15 << 4; return s }, false)
		case k == len(badOptions)+2: // data offset 3
			return rawSegment(v, v.next, ts, nil, func(s []byte) []byte { s[12] = 3 << 4; return s }, false)
		}
		// Junk at RCV.NXT, mapped where the client's data would go,
		// with a wrong checksum: taken, it would corrupt the stream.
		junk := make([]byte, 200)
		for j := range junk {
			junk[j] = 0xa5
		}
		rel := v.next - v.isn
		dss := wire.DSS{HasMap: true, DSN64: true, DSN: v.mapDSN + uint64(rel-v.mapSSN), SubflowSeq: rel, DataLen: uint16(len(junk)), HasChecksum: v.csum}
		var b wire.OptionBuilder
		_ = b.AddTimestamps(v.tsVal, v.tsEcr)
		_ = b.AddDSS(&dss)
		return rawSegment(v, v.next, append([]byte(nil), b.Bytes()...), junk, nil, true)
	})
}

func forgedDSS(a *attacker) error {
	return a.pace(600, 300, func(i int) []byte {
		v := pick(a, i)
		if v == nil {
			return nil
		}
		if i%3 == 2 { // a DATA_ACK far ahead of what the server sent, or behind
			ack := uint64(a.u64()>>1) + 1<<40
			if i%2 == 0 {
				ack = v.mapDSN - 1<<20
			}
			return toServer(v, v.next, v.ack, wire.FlagACK, func(b *wire.OptionBuilder) error {
				return b.AddDSS(&wire.DSS{HasAck: true, Ack64: true, DataAck: ack})
			}, nil)
		}
		junk := make([]byte, 500)
		for j := range junk {
			junk[j] = 0x5a
		}
		k := uint32(2 + a.intn(10))
		seq := v.next + k*1448
		rel := seq - v.isn
		dsn := v.mapDSN + uint64(rel-v.mapSSN) + uint64(1+a.intn(5000))
		if i%3 == 1 {
			dsn = a.u64()
		}
		return toServer(v, seq, v.ack, wire.FlagACK, func(b *wire.OptionBuilder) error {
			return b.AddDSS(&wire.DSS{HasMap: true, DSN64: true, DSN: dsn, SubflowSeq: rel, DataLen: uint16(len(junk)), HasChecksum: v.csum})
		}, junk)
	})
}
