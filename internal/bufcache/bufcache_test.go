package bufcache

import "testing"

func TestGetPut(t *testing.T) {
	c := New(64 << 10)
	b := c.Get(8192)
	if len(b) != 8192 || cap(b) != 8192 {
		t.Fatalf("Get(8192): len %d cap %d", len(b), cap(b))
	}
	for i := range b {
		b[i] = 0xAA
	}
	c.Put(b[:100]) // a ring handed back by a slice of itself counts whole
	if c.Held() != 8192 {
		t.Fatalf("held %d after Put, want 8192", c.Held())
	}
	again := c.Get(8192)
	if &again[0] != &b[0] {
		t.Fatal("Get did not reuse the buffer put back")
	}
	for i, x := range again {
		if x != 0 {
			t.Fatalf("reused buffer not zeroed at %d", i)
		}
	}
	if st := c.Stats(); st.Hits != 1 || st.Misses != 1 || st.Puts != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestLimitAndOddSizes(t *testing.T) {
	c := New(16 << 10)
	c.Put(make([]byte, 16<<10))
	c.Put(make([]byte, 4096)) // over the limit: dropped
	c.Put(make([]byte, 5000)) // not a power of two: dropped
	c.Put(make([]byte, 1024)) // below MinSize: dropped
	if c.Held() != 16<<10 {
		t.Fatalf("held %d, want %d", c.Held(), 16<<10)
	}
	if st := c.Stats(); st.Drops != 3 || st.Puts != 1 {
		t.Fatalf("stats %+v", st)
	}
	if b := c.Get(5000); len(b) != 5000 {
		t.Fatalf("Get(5000) gave %d bytes", len(b))
	}
}

func TestNilCache(t *testing.T) {
	var c *Cache
	if b := c.Get(4096); len(b) != 4096 {
		t.Fatal("nil cache's Get")
	}
	c.Put(make([]byte, 4096))
	if c.Held() != 0 || c.Stats() != (Stats{}) {
		t.Fatal("nil cache holds something")
	}
}

// TestSteadyStateAllocs: a ring that grows and goes back, again and
// again, allocates nothing once the cache holds its sizes.
func TestSteadyStateAllocs(t *testing.T) {
	c := New(0)
	cycle := func() {
		var ring []byte
		for size := MinSize; size <= 128<<10; size *= 2 {
			nb := c.Get(size)
			copy(nb, ring)
			c.Put(ring)
			ring = nb
		}
		c.Put(ring)
	}
	cycle()
	if n := testing.AllocsPerRun(100, cycle); n != 0 {
		t.Fatalf("%v allocations per cycle", n)
	}
}
