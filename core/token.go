package core

import "errors"

// errTokenSpace is returned when no key with an unused token was found in
// maxKeyTries draws: with 2^32 tokens this means the table is absurdly
// full or the random source is broken, and the connection falls back to
// TCP (counted as MPFallbackTokenInit), as the kernel does.
var errTokenSpace = errors.New("mptcp: no unused token")

// maxKeyTries bounds the draws for a key with a fresh token, per share
// of the token space (a stack that is one of n shards draws n times as
// many keys, only one in n of which has a token of its share).
const maxKeyTries = 16

// tokenTable maps the local tokens of a stack to their connections. A
// token names a connection in MP_JOIN SYNs (RFC 8684 section 3.2), so it
// must be unique within the stack for as long as the connection lives;
// keys are drawn again until their token is free, as the kernel's
// mptcp_token_new_request does. A token is reserved from the moment its
// key is chosen (client SYN, server SYN/ACK) until the connection is gone.
//
// A stack that is one of several side by side (Config.Shards) takes only
// the tokens of its share, token % shards == shard, so that an MP_JOIN
// SYN's token names the stack that owns the connection before any of
// them looks at it.
type tokenTable[T comparable] struct {
	m             map[uint32]T
	shard, shards uint32 // shards 0 or 1: the whole token space
}

// draw draws keys from r until one has a token of the table's share that
// is not in the table. A key of zero is never used: the kernel treats it
// as "no key".
func (t *tokenTable[T]) draw(r Rand) (keys, bool) {
	n := max(t.shards, 1)
	for range maxKeyTries * n {
		k := r.Uint64()
		if k == 0 {
			continue
		}
		ks := newKeys(k)
		if ks.token%n != t.shard {
			continue
		}
		if _, used := t.m[ks.token]; used {
			continue
		}
		return ks, true
	}
	return keys{}, false
}

// newKey draws a key with a fresh token (draw) and reserves that token
// for v.
func (t *tokenTable[T]) newKey(r Rand, v T) (keys, error) {
	if t.m == nil {
		t.m = make(map[uint32]T)
	}
	ks, ok := t.draw(r)
	if !ok {
		return keys{}, errTokenSpace
	}
	t.m[ks.token] = v
	return ks, nil
}

// reserve takes token for v, a key chosen elsewhere (returned by a SYN
// cookie's third ACK); it reports false if the token is in use.
func (t *tokenTable[T]) reserve(token uint32, v T) bool {
	if t.m == nil {
		t.m = make(map[uint32]T)
	}
	if _, used := t.m[token]; used {
		return false
	}
	t.m[token] = v
	return true
}

// lookup returns the connection owning token.
func (t *tokenTable[T]) lookup(token uint32) (T, bool) {
	v, ok := t.m[token]
	return v, ok
}

// remove releases token if v holds it.
func (t *tokenTable[T]) remove(token uint32, v T) {
	if cur, ok := t.m[token]; ok && cur == v {
		delete(t.m, token)
	}
}

// len returns the number of tokens in use.
func (t *tokenTable[T]) len() int { return len(t.m) }
