package wire

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
)

// The MPTCP v1 crypto of RFC 8684: SHA-256 of the 64-bit keys, HMAC-SHA256
// keyed with the two keys for MP_JOIN and ADD_ADDR, and the DSS checksum.
// None of these functions allocate.

// KeyTokenIDSN returns the token and the initial data sequence number
// derived from a key (RFC 8684 section 3.1): the SHA-256 hash of the key in
// network byte order, whose most significant 32 bits are the token and
// least significant 64 bits the IDSN.
func KeyTokenIDSN(key uint64) (token uint32, idsn uint64) {
	var in [8]byte
	binary.BigEndian.PutUint64(in[:], key)
	h := sha256.Sum256(in[:])
	return binary.BigEndian.Uint32(h[:4]), binary.BigEndian.Uint64(h[sha256.Size-8:])
}

// KeyToken returns the token of key: the key's owner identifies the
// connection by it, and its peer names it in the MP_JOIN SYN of a new
// subflow.
func KeyToken(key uint64) uint32 {
	t, _ := KeyTokenIDSN(key)
	return t
}

// KeyIDSN returns the initial data sequence number of the side that chose
// key.
func KeyIDSN(key uint64) uint64 {
	_, s := KeyTokenIDSN(key)
	return s
}

// hmacMaxMsg bounds the messages hmacSHA256 takes; the longest, an IPv6
// ADD_ADDR, is 19 bytes.
const hmacMaxMsg = 32

// hmacSHA256 returns HMAC-SHA256 (RFC 2104) with the 16-byte key
// key1||key2 in network byte order, as every MPTCP HMAC is keyed. The key
// is shorter than the 64-byte block, so it is used zero-padded; computing
// the two hashes on stack buffers avoids the allocations of crypto/hmac.
// msg must be at most hmacMaxMsg bytes.
func hmacSHA256(key1, key2 uint64, msg []byte) [sha256.Size]byte {
	var k [16]byte
	binary.BigEndian.PutUint64(k[:], key1)
	binary.BigEndian.PutUint64(k[8:], key2)
	var buf [sha256.BlockSize + sha256.Size]byte
	for i := range sha256.BlockSize {
		buf[i] = 0x36
	}
	for i, c := range k {
		buf[i] ^= c
	}
	n := copy(buf[sha256.BlockSize:], msg[:min(len(msg), hmacMaxMsg)])
	inner := sha256.Sum256(buf[:sha256.BlockSize+n])
	for i := range sha256.BlockSize {
		buf[i] = 0x5c
	}
	for i, c := range k {
		buf[i] ^= c
	}
	copy(buf[sha256.BlockSize:], inner[:])
	return sha256.Sum256(buf[:])
}

// JoinHMAC returns the MP_JOIN HMAC that the sender of an option computes
// (RFC 8684 section 3.2): HMAC-SHA256 keyed with the sender's key followed
// by the receiver's, over the sender's nonce followed by the receiver's.
// For the initiator A this is HMAC-A = HMAC(Key-A+Key-B, R-A+R-B), for the
// listener B it is HMAC-B = HMAC(Key-B+Key-A, R-B+R-A). The receiver checks
// it by calling JoinHMAC with the roles swapped.
func JoinHMAC(senderKey, receiverKey uint64, senderNonce, receiverNonce uint32) [sha256.Size]byte {
	var msg [8]byte
	binary.BigEndian.PutUint32(msg[:], senderNonce)
	binary.BigEndian.PutUint32(msg[4:], receiverNonce)
	return hmacSHA256(senderKey, receiverKey, msg[:])
}

// JoinSynAckHMAC returns the truncated HMAC of the MP_JOIN SYN/ACK: the
// leftmost 64 bits of the listener's HMAC-B.
func JoinSynAckHMAC(listenerKey, initiatorKey uint64, listenerNonce, initiatorNonce uint32) uint64 {
	h := JoinHMAC(listenerKey, initiatorKey, listenerNonce, initiatorNonce)
	return binary.BigEndian.Uint64(h[:8])
}

// JoinAckHMAC returns the HMAC of the MP_JOIN third ACK: the leftmost 160
// bits of the initiator's HMAC-A.
func JoinAckHMAC(initiatorKey, listenerKey uint64, initiatorNonce, listenerNonce uint32) [MPJoinHMACLen]byte {
	h := JoinHMAC(initiatorKey, listenerKey, initiatorNonce, listenerNonce)
	return [MPJoinHMACLen]byte(h[:MPJoinHMACLen])
}

// AddAddrHMAC returns the truncated HMAC of an ADD_ADDR (RFC 8684 section
// 3.4.1): the rightmost 64 bits of HMAC-SHA256 keyed with the announcing
// host's key followed by the receiver's, over the address ID, the address
// (4 bytes for IPv4, 16 otherwise) and the port. The port is always two
// bytes, zero when the option carries none, as the Linux kernel computes it
// (add_addr_generate_hmac); the reference captures confirm this.
func AddAddrHMAC(senderKey, receiverKey uint64, id uint8, addr netip.Addr, port uint16) uint64 {
	var msg [1 + 16 + 2]byte
	msg[0] = id
	n := 1
	if addr.Is4() {
		a := addr.As4()
		n += copy(msg[n:], a[:])
	} else {
		a := addr.As16()
		n += copy(msg[n:], a[:])
	}
	binary.BigEndian.PutUint16(msg[n:], port)
	n += 2
	h := hmacSHA256(senderKey, receiverKey, msg[:n])
	return binary.BigEndian.Uint64(h[sha256.Size-8:])
}

// DSSPseudoHeaderSum returns the one's complement sum (uncomplemented, as
// Checksum returns it) of the pseudo-header that the DSS checksum covers
// (RFC 8684 section 3.3.1): the 64-bit data sequence number, even when the
// option carries 32 bits of it; the subflow sequence number relative to
// the subflow's initial one; the data-level length; and a zero checksum
// field. A mapping whose data spans several segments is checksummed by
// adding each segment's Checksum to this with ChecksumCombine.
func DSSPseudoHeaderSum(dsn uint64, subflowSeq uint32, dataLen uint16) uint16 {
	var h [16]byte
	binary.BigEndian.PutUint64(h[:], dsn)
	binary.BigEndian.PutUint32(h[8:], subflowSeq)
	binary.BigEndian.PutUint16(h[12:], dataLen)
	return Checksum(h[:], 0)
}

// DSSChecksum returns the checksum to send in the DSS option (or
// MP_CAPABLE data form) of a mapping whose data is payload.
func DSSChecksum(dsn uint64, subflowSeq uint32, dataLen uint16, payload []byte) uint16 {
	return ^Checksum(payload, DSSPseudoHeaderSum(dsn, subflowSeq, dataLen))
}

// DSSChecksumValid reports whether csum, received in a DSS option, is the
// checksum of the mapping and its data payload: the sum of the
// pseudo-header with the checksum in place and the data is all ones.
func DSSChecksumValid(dsn uint64, subflowSeq uint32, dataLen, csum uint16, payload []byte) bool {
	return Checksum(payload, ChecksumCombine(DSSPseudoHeaderSum(dsn, subflowSeq, dataLen), csum)) == 0xffff
}
