package netsim

import "encoding/binary"

// flowHash hashes the 5-tuple of the IP packet b (which ipAddrs accepted)
// with salt: source and destination addresses, the protocol and, for TCP
// and UDP, the ports. Other protocols, and fragments past the first, hash
// on the addresses and protocol alone. It reads the bytes in place and
// allocates nothing.
func flowHash(b []byte, salt uint64) uint64 {
	var proto byte
	var addrs, l4 []byte
	if b[0]>>4 == 4 {
		hl := int(b[0]&0x0f) * 4
		proto, addrs = b[9], b[12:20]
		if binary.BigEndian.Uint16(b[6:])&0x1fff == 0 && len(b) >= hl+4 {
			l4 = b[hl : hl+4]
		}
	} else {
		proto, addrs = b[6], b[8:40]
		if len(b) >= 44 {
			l4 = b[40:44]
		}
	}
	h := salt ^ 14695981039346656037
	mix := func(p []byte) {
		for _, c := range p {
			h ^= uint64(c)
			h *= 1099511628211
		}
	}
	mix(addrs)
	h ^= uint64(proto)
	h *= 1099511628211
	if proto == 6 || proto == 17 {
		mix(l4)
	}
	return splitmix64(h)
}
