package core

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/mptcp-go/mptcp/wire"
)

// fixedRand returns its values in turn, then repeats the last.
type fixedRand struct {
	v []uint64
	i int
}

func (f *fixedRand) Uint64() uint64 {
	x := f.v[min(f.i, len(f.v)-1)]
	f.i++
	return x
}

func TestTokenUniqueAndRegenerated(t *testing.T) {
	var tt tokenTable[int]
	r := &fixedRand{v: []uint64{0, 42, 42, 42, 7}}
	k1, err := tt.newKey(r, 1)
	if err != nil || k1.key != 42 {
		t.Fatalf("first key = %+v, %v; want key 42 (zero skipped)", k1, err)
	}
	if k1.token != wire.KeyToken(42) || k1.idsn != wire.KeyIDSN(42) {
		t.Fatalf("token/IDSN not derived from the key: %+v", k1)
	}
	k2, err := tt.newKey(r, 2)
	if err != nil || k2.key != 7 {
		t.Fatalf("second key = %+v, %v; want the colliding 42s skipped for 7", k2, err)
	}
	if v, ok := tt.lookup(k1.token); !ok || v != 1 {
		t.Fatalf("lookup(k1) = %v, %v", v, ok)
	}
	tt.remove(k1.token, 2) // not the owner: kept
	if _, ok := tt.lookup(k1.token); !ok {
		t.Fatal("remove by a non-owner released the token")
	}
	tt.remove(k1.token, 1)
	if _, ok := tt.lookup(k1.token); ok || tt.len() != 1 {
		t.Fatal("token not released")
	}
}

func TestTokenSpaceExhausted(t *testing.T) {
	var tt tokenTable[int]
	r := &fixedRand{v: []uint64{5}}
	if _, err := tt.newKey(r, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := tt.newKey(r, 2); !errors.Is(err, errTokenSpace) {
		t.Fatalf("broken source: err = %v, want errTokenSpace", err)
	}
}

func TestTokenManyUnique(t *testing.T) {
	var tt tokenTable[int]
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 10000 {
		if _, err := tt.newKey(r, i); err != nil {
			t.Fatal(err)
		}
	}
	if tt.len() != 10000 {
		t.Fatalf("len = %d", tt.len())
	}
}

// TestTokenShare: a stack that is shard i of n takes only tokens with
// token % n == i, so an MP_JOIN's token names the shard.
func TestTokenShare(t *testing.T) {
	tt := tokenTable[int]{shard: 2, shards: 4}
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 200 {
		ks, err := tt.newKey(r, i)
		if err != nil {
			t.Fatal(err)
		}
		if ks.token%4 != 2 {
			t.Fatalf("token %#x is not shard 2's", ks.token)
		}
	}
	if _, err := NewStack(Config{Rand: r, Shard: 4, Shards: 4}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("shard 4 of 4 accepted: %v", err)
	}
}
