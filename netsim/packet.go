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
	b       []byte // the packet; cap is the size class
	arrival int64  // virtual time it reaches the far end of the pipe
	seq     uint64 // transmission order on the pipe, for ties
	next    *packet
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

// ring is a growable FIFO. Its storage is reused, so a queue that has
// reached its working size stops allocating.
type ring[T any] struct {
	buf        []T
	head, size int
}

func (r *ring[T]) len() int { return r.size }

func (r *ring[T]) push(v T) {
	if r.size == len(r.buf) {
		r.grow()
	}
	r.buf[(r.head+r.size)&(len(r.buf)-1)] = v
	r.size++
}

// peek returns the oldest element; the ring must not be empty.
func (r *ring[T]) peek() T { return r.buf[r.head] }

// pop removes and returns the oldest element; the ring must not be empty.
func (r *ring[T]) pop() T {
	var zero T
	v := r.buf[r.head]
	r.buf[r.head] = zero
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.size--
	return v
}

// at returns the i-th oldest element.
func (r *ring[T]) at(i int) T { return r.buf[(r.head+i)&(len(r.buf)-1)] }

func (r *ring[T]) grow() {
	n := 2 * len(r.buf)
	if n == 0 {
		n = 16
	}
	buf := make([]T, n)
	for i := 0; i < r.size; i++ {
		buf[i] = r.at(i)
	}
	r.buf = buf
	r.head = 0
}
