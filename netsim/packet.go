package netsim

// Buffer size classes. Almost every packet fits the small class (an
// Ethernet MTU with room to spare); segmentation-offload super-packets up
// to the IP maximum use the large one.
const (
	smallBuf = 2048
	largeBuf = 65536 + 64
)

// packet is one packet in the simulation, in a buffer owned by the Sim's
// pool from the moment a node hands it to the network until it is
// delivered or dropped. Ownership moves (router forwarding passes the same
// buffer on), so a packet is copied once, when it enters the network.
type packet struct {
	b    []byte // the packet; cap is the size class
	next *packet
}

// packetPool is a free list per size class. The simulation is
// single-threaded, so a plain list beats sync.Pool and, unlike sync.Pool,
// never drops buffers at a garbage collection.
type packetPool struct {
	small, large *packet
}

// get returns a packet holding a copy of b.
func (p *packetPool) get(b []byte) *packet {
	var pk *packet
	switch n := len(b); {
	case n <= smallBuf:
		if pk = p.small; pk != nil {
			p.small = pk.next
		} else {
			pk = &packet{b: make([]byte, 0, smallBuf)}
		}
	case n <= largeBuf:
		if pk = p.large; pk != nil {
			p.large = pk.next
		} else {
			pk = &packet{b: make([]byte, 0, largeBuf)}
		}
	default:
		// Larger than any IP packet: the router or host will count it as
		// malformed; no point pooling such a buffer.
		pk = &packet{b: make([]byte, 0, n)}
	}
	pk.next = nil
	pk.b = append(pk.b[:0], b...)
	return pk
}

// put returns pk to its free list.
func (p *packetPool) put(pk *packet) {
	switch cap(pk.b) {
	case smallBuf:
		pk.next = p.small
		p.small = pk
	case largeBuf:
		pk.next = p.large
		p.large = pk
	}
}
