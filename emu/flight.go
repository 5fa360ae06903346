package emu

// flight holds the packets a pipe has put on the wire that have not yet
// arrived, as netsim's pipe does: most arrive in the order they were sent
// and wait in a FIFO (O(1) per packet); those picked for reordering wait
// in a small heap. Arrival order is (arrival time, transmission sequence)
// whichever structure a packet is in.
type flight struct {
	fifo ring[*packet]
	late []*packet // min-heap by (arrival, seq)
}

func (f *flight) len() int { return f.fifo.len() + len(f.late) }

func before(a, b *packet) bool {
	if a.arrival != b.arrival {
		return a.arrival < b.arrival
	}
	return a.seq < b.seq
}

// next returns the packet that arrives first, or nil.
func (f *flight) next() *packet {
	var p *packet
	if f.fifo.len() > 0 {
		p = f.fifo.peek()
	}
	if len(f.late) > 0 && (p == nil || before(f.late[0], p)) {
		p = f.late[0]
	}
	return p
}

// popNext removes and returns the packet next would return; there must be one.
func (f *flight) popNext() *packet {
	if len(f.late) > 0 && (f.fifo.len() == 0 || before(f.late[0], f.fifo.peek())) {
		return f.popLate()
	}
	return f.fifo.pop()
}

func (f *flight) pushLate(p *packet) {
	f.late = append(f.late, p)
	j := len(f.late) - 1
	for j > 0 {
		i := (j - 1) / 2
		if !before(f.late[j], f.late[i]) {
			break
		}
		f.late[i], f.late[j] = f.late[j], f.late[i]
		j = i
	}
}

func (f *flight) popLate() *packet {
	h := f.late
	p := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h[n] = nil
	h = h[:n]
	i := 0
	for {
		j := 2*i + 1
		if j >= n {
			break
		}
		if r := j + 1; r < n && before(h[r], h[j]) {
			j = r
		}
		if !before(h[j], h[i]) {
			break
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
	f.late = h
	return p
}
