package core

import "errors"

// errTokenSpace is returned when no key with an unused token was found in
// maxKeyTries draws: with 2^32 tokens this means the table is absurdly
// full or the random source is broken, and the connection falls back to
// TCP (counted as MPFallbackTokenInit), as the kernel does.
var errTokenSpace = errors.New("mptcp: no unused token")

// maxKeyTries bounds the draws for a key with a fresh token.
const maxKeyTries = 16

// tokenTable maps the local tokens of a stack to their connections. A
// token names a connection in MP_JOIN SYNs (RFC 8684 section 3.2), so it
// must be unique within the stack for as long as the connection lives;
// keys are drawn again until their token is free, as the kernel's
// mptcp_token_new_request does. A token is reserved from the moment its
// key is chosen (client SYN, server SYN/ACK) until the connection is gone.
type tokenTable[T comparable] struct {
	m map[uint32]T
}

// newKey draws keys from r until one has a token not in the table, and
// reserves that token for v. A key of zero is never used: the kernel
// treats it as "no key".
func (t *tokenTable[T]) newKey(r Rand, v T) (keys, error) {
	if t.m == nil {
		t.m = make(map[uint32]T)
	}
	for range maxKeyTries {
		k := r.Uint64()
		if k == 0 {
			continue
		}
		ks := newKeys(k)
		if _, used := t.m[ks.token]; used {
			continue
		}
		t.m[ks.token] = v
		return ks, nil
	}
	return keys{}, errTokenSpace
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
