package emu

// ethHeaderLen is the length of the Ethernet header in front of every
// frame the emulator moves. The link model counts the bytes behind it (the
// IP packet), as netsim's pipes do, so that one scenario gives the same
// rates in the simulator and on the emulated network.
const ethHeaderLen = 14

// packet is one frame held by the emulator, from the moment it is read
// from the ingress interface until it is written to the egress one or
// dropped.
type packet struct {
	b        []byte // the Ethernet frame; its capacity is the buffer's class size
	size     int    // bytes the link model counts: IP length plus Options.Overhead
	arrival  int64  // when it reaches the far end of the pipe it is in (ns on the loop clock)
	admitted int64  // when it entered its flow's first pipe (ns on the loop clock)
	flow     *flow  // the direction of the path it travels: pipes, counters and egress
	stage    int8   // the index of the pipe of its flow it is in
	next     *packet
	large    bool
}

// l3 returns the length of the packet behind the Ethernet header.
func (pk *packet) l3() int { return len(pk.b) - ethHeaderLen }

// smallBuf is the size of the buffers for short frames (ACKs, probes),
// so that a queue of ACKs does not hold a full-sized buffer each.
const smallBuf = 256

// pool recycles packet buffers and bounds the memory they take: buffers
// handed out and not yet returned never exceed limit bytes. Each loop has
// its own pool, so no locking is needed.
type pool struct {
	small, large *packet
	frameMax     int   // capacity of a large buffer
	used, limit  int64 // bytes of buffers handed out, and the bound
}

func (p *pool) init(frameMax int, limit int64) {
	p.frameMax = max(frameMax, smallBuf)
	p.limit = limit
}

// get returns a packet with room for an n-byte frame, its length set to
// n, or nil if n is larger than any buffer or the memory bound is reached.
func (p *pool) get(n int) *packet {
	if n < 0 || n > p.frameMax {
		return nil
	}
	large := n > smallBuf
	c := int64(smallBuf)
	if large {
		c = int64(p.frameMax)
	}
	if p.used+c > p.limit {
		return nil
	}
	p.used += c
	var pk *packet
	if large {
		pk = p.large
		if pk != nil {
			p.large = pk.next
		} else {
			pk = &packet{b: make([]byte, p.frameMax), large: true}
		}
	} else {
		pk = p.small
		if pk != nil {
			p.small = pk.next
		} else {
			pk = &packet{b: make([]byte, smallBuf)}
		}
	}
	pk.next = nil
	pk.b = pk.b[:n]
	return pk
}

// put returns a packet to the pool.
func (p *pool) put(pk *packet) {
	pk.flow = nil
	if pk.large {
		p.used -= int64(p.frameMax)
		pk.next = p.large
		p.large = pk
	} else {
		p.used -= smallBuf
		pk.next = p.small
		p.small = pk
	}
}

// clone returns a copy of pk (a duplicate made on the wire), or nil if
// there is no memory for it.
func (p *pool) clone(pk *packet) *packet {
	c := p.get(len(pk.b))
	if c == nil {
		return nil
	}
	copy(c.b, pk.b)
	c.size, c.flow, c.admitted = pk.size, pk.flow, pk.admitted
	return c
}
