package netsim

import "github.com/mptcp-go/mptcp/internal/linkq"

// dropTail is the FIFO in front of a pipe's transmitter. It holds packets
// that are waiting; the one being serialised has left it. When full, the
// arriving packet is the one dropped, as in Linux's pfifo and bfifo.
type dropTail struct {
	q          linkq.Ring[*packet]
	bytes      int
	maxPackets int // 0: unlimited
	maxBytes   int // 0: unlimited
}

// fits reports whether a packet of n bytes may join the queue.
func (d *dropTail) fits(n int) bool {
	if d.maxPackets > 0 && d.q.Len() >= d.maxPackets {
		return false
	}
	if d.maxBytes > 0 && d.bytes+n > d.maxBytes {
		return false
	}
	return true
}

func (d *dropTail) push(pk *packet) {
	d.q.Push(pk)
	d.bytes += len(pk.b)
}

// pop removes the oldest packet; the queue must not be empty.
func (d *dropTail) pop() *packet {
	pk := d.q.Pop()
	d.bytes -= len(pk.b)
	return pk
}

func (d *dropTail) len() int { return d.q.Len() }
