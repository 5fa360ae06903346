package proxy

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/mptcp-go/mptcp/internal/convert"
)

// Private-use Convert TLVs (RFC 8803 reserves 192-255) this proxy defines.
const (
	// tlvAuth carries the client's proof of the pre-shared key.
	tlvAuth = convert.TypePrivateMin
	// tlvHost carries a host name for the converter to resolve; the
	// Connect TLV's address is then unspecified.
	tlvHost = convert.TypePrivateMin + 1
	// tlvUDP asks for a UDP relay (SOCKS5 UDP ASSOCIATE) instead of a
	// TCP connection; the stream then carries framed datagrams.
	tlvUDP = convert.TypePrivateMin + 2
)

// The auth TLV's value: 8 bytes of Unix time, a 12-byte nonce and the first
// 16 bytes of HMAC-SHA256(key, label | time | nonce | destination).
const (
	authLen    = 8 + 12 + 16
	authLabel  = "mptcp-go convert auth v1"
	authWindow = 2 * time.Minute
)

// authTLV builds the proof for dest at time now.
func authTLV(key []byte, now time.Time, dest string) convert.TLV {
	v := make([]byte, 20, authLen)
	binary.BigEndian.PutUint64(v, uint64(now.Unix()))
	_, _ = rand.Read(v[8:20])
	v = append(v, authMAC(key, v[:20], dest)...)
	return convert.TLV{Type: tlvAuth, Value: v}
}

func authMAC(key, timeNonce []byte, dest string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(authLabel))
	h.Write(timeNonce)
	h.Write([]byte(dest))
	return h.Sum(nil)[:16]
}

// replayGuard checks proofs: the MAC, the time within authWindow of the
// server's clock, and the nonce not seen before within that window. Its
// memory is bounded: at most max nonces are remembered, and once full, a
// proof is refused rather than a nonce forgotten early.
type replayGuard struct {
	key  []byte
	max  int
	mu   sync.Mutex
	seen map[[12]byte]time.Time
}

func newReplayGuard(key []byte, max int) *replayGuard {
	return &replayGuard{key: key, max: max, seen: map[[12]byte]time.Time{}}
}

// check verifies v, the value of an auth TLV, for dest at time now.
func (g *replayGuard) check(v []byte, dest string, now time.Time) error {
	if len(v) < authLen {
		return fmt.Errorf("auth TLV of %d bytes", len(v))
	}
	if !hmac.Equal(authMAC(g.key, v[:20], dest), v[20:authLen]) {
		return fmt.Errorf("wrong key")
	}
	t := time.Unix(int64(binary.BigEndian.Uint64(v)), 0)
	if d := now.Sub(t); d > authWindow || d < -authWindow {
		return fmt.Errorf("proof %v old (clocks differ?)", d.Round(time.Second))
	}
	nonce := [12]byte(v[8:20])
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, dup := g.seen[nonce]; dup {
		return fmt.Errorf("replayed proof")
	}
	if len(g.seen) >= g.max {
		for n, exp := range g.seen {
			if now.After(exp) {
				delete(g.seen, n)
			}
		}
		if len(g.seen) >= g.max {
			return fmt.Errorf("replay cache full")
		}
	}
	g.seen[nonce] = t.Add(2 * authWindow)
	return nil
}
