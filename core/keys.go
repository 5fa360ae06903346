package core

import "github.com/mptcp-go/mptcp/wire"

// Rand is the randomness a Stack is given: keys, nonces and, through the
// TCP engine, initial sequence numbers come from it. A *math/rand/v2.Rand
// (the simulator's seeded streams) satisfies it; a real driver passes a
// source backed by crypto/rand, since RFC 8684 section 5 relies on keys
// and nonces an attacker cannot predict.
type Rand interface {
	Uint64() uint64
}

// keys is one side's key with the token and initial data sequence number
// derived from it (RFC 8684 section 3.1).
type keys struct {
	key   uint64
	token uint32
	idsn  uint64
}

func newKeys(key uint64) keys {
	t, s := wire.KeyTokenIDSN(key)
	return keys{key: key, token: t, idsn: s}
}

// nonce32 draws a 32-bit MP_JOIN nonce.
func nonce32(r Rand) uint32 { return uint32(r.Uint64() >> 32) }
