package core

import (
	"errors"
	"testing"
)

func TestRxMappings(t *testing.T) {
	var rx rxMappings
	m1 := mapping{dsn: 1000, off: 0, n: 100}
	m2 := mapping{dsn: 5000, off: 100, n: 50}
	if err := rx.add(m2, 120, 10); err != nil { // arrives first, out of order
		t.Fatal(err)
	}
	if err := rx.add(m1, 0, 100); err != nil {
		t.Fatal(err)
	}
	if err := rx.add(m1, 50, 50); err != nil {
		t.Fatalf("repeated mapping on a later segment: %v", err)
	}
	bad := m1
	bad.dsn++
	if err := rx.add(bad, 0, 10); !errors.Is(err, errMapConflict) {
		t.Fatalf("contradicting mapping: %v", err)
	}
	overlap := mapping{dsn: 9000, off: 90, n: 20}
	if err := rx.add(overlap, 95, 5); !errors.Is(err, errMapConflict) {
		t.Fatalf("overlapping mapping: %v", err)
	}
	if err := rx.add(mapping{dsn: 1, off: 200, n: 10}, 210, 10); !errors.Is(err, errMapTCP) {
		t.Fatalf("mapping not covering its segment: %v", err)
	}
	if m, ok := rx.lookup(120); !ok || m.dsnAt(120) != 5020 {
		t.Fatalf("lookup(120) = %+v, %v", m, ok)
	}
	if _, ok := rx.lookup(150); ok {
		t.Fatal("lookup past the last mapping succeeded")
	}
	rx.prune(100)
	if rx.len() != 1 {
		t.Fatalf("prune left %d mappings", rx.len())
	}
	inf := mapping{dsn: 7000, off: 150, infinite: true}
	if err := rx.add(inf, 150, 1000); err != nil {
		t.Fatal(err)
	}
	if m, ok := rx.lookup(1 << 40); !ok || m.dsnAt(1<<40) != 7000+(1<<40)-150 {
		t.Fatal("infinite mapping does not cover everything after it")
	}
}

func TestTxMappingsOutstanding(t *testing.T) {
	var tx txMappings
	tx.push(mapping{dsn: 10, off: 0, n: 100})
	tx.push(mapping{dsn: 500, off: 100, n: 100})
	tx.acked(150)
	var got [][2]uint64
	tx.outstanding(func(_, dsn uint64, n int) { got = append(got, [2]uint64{dsn, uint64(n)}) })
	if len(got) != 1 || got[0] != [2]uint64{550, 50} {
		t.Fatalf("outstanding = %v, want [[550 50]]", got)
	}
	if _, ok := tx.lookup(120); !ok {
		t.Fatal("partly acknowledged mapping forgotten")
	}
	tx.acked(100) // old ACK: no effect
	tx.acked(200)
	if len(tx.m) != 0 {
		t.Fatal("acknowledged mappings kept")
	}
}

func TestTxMappingsTruncate(t *testing.T) {
	var tx txMappings
	tx.push(mapping{dsn: 1000, off: 0, n: 100})
	tx.push(mapping{dsn: 5000, off: 100, n: 50})
	tx.push(mapping{dsn: 7000, off: 150, n: 50})
	tx.truncate(150)
	if len(tx.m) != 2 || tx.m[1].off != 100 {
		t.Fatalf("after truncate(150): %+v, want the first two mappings", tx.m)
	}
	if _, ok := tx.lookup(160); ok {
		t.Error("offset 160 still mapped")
	}
	tx.truncate(500) // nothing beyond
	tx.truncate(120) // inside the second mapping: it stays whole
	if len(tx.m) != 2 || tx.m[1].end() != 150 {
		t.Fatalf("after truncate(120): %+v", tx.m)
	}
	tx.truncate(0)
	if len(tx.m) != 0 {
		t.Fatalf("after truncate(0): %+v", tx.m)
	}
}
