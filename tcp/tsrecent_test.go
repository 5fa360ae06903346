package tcp

import (
	"testing"

	"github.com/mptcp-go/mptcp/wire"
)

// An in-window ACK whose TSval lies 2^30 ahead (an injection: RFC 5961
// leaves the timestamp unchecked) is dropped with a challenge ACK and
// counted; TS.Recent stays, and the peer's next segment is accepted.
func TestInjectedTSValJumpDropped(t *testing.T) {
	n, _, b, c, sc := established(t, nil)
	nxt := sc.rcvWire(sc.rcvNxt())
	recent := sc.tsRecent
	out := inject(n, b, craft(c.LocalAddr(), c.RemoteAddr(), nxt, sc.sndWire(sc.sndNxt), wire.FlagACK, 1000, tsOpt(recent+1<<30, 0), nil))
	if len(out) != 1 {
		t.Fatalf("%d answers, want a challenge ACK", len(out))
	}
	if sc.tsRecent != recent || sc.Info().TSJumpDrops != 1 || b.Stats().TSJumpDrops != 1 || b.Stats().ChallengeACKs != 1 {
		t.Fatalf("TS.Recent %d (was %d), jump drops %d/%d, challenge ACKs %d", sc.tsRecent, recent,
			sc.Info().TSJumpDrops, b.Stats().TSJumpDrops, b.Stats().ChallengeACKs)
	}
	inject(n, b, craft(c.LocalAddr(), c.RemoteAddr(), nxt, sc.sndWire(sc.sndNxt), wire.FlagACK|wire.FlagPSH, 1000, tsOpt(recent+1, 0), []byte("fresh")))
	if sc.Readable() != 5 {
		t.Fatalf("the peer's segment after the injection: readable %d", sc.Readable())
	}
}

// A smaller jump is taken, but the peer's next segment, older than the
// jump and newer than TS.Recent before it, undoes it instead of failing
// PAWS for ever after; an old duplicate still fails.
func TestPAWSRollback(t *testing.T) {
	n, _, b, c, sc := established(t, nil)
	nxt := sc.rcvWire(sc.rcvNxt())
	recent := sc.tsRecent
	inject(n, b, craft(c.LocalAddr(), c.RemoteAddr(), nxt, sc.sndWire(sc.sndNxt), wire.FlagACK, 1000, tsOpt(recent+1<<19, 0), nil))
	if sc.tsRecent != recent+1<<19 {
		t.Fatalf("TS.Recent %d, want the jump %d taken", sc.tsRecent, recent+1<<19)
	}
	inject(n, b, craft(c.LocalAddr(), c.RemoteAddr(), nxt, sc.sndWire(sc.sndNxt), wire.FlagACK|wire.FlagPSH, 1000, tsOpt(recent-5000, 0), []byte("stale")))
	if sc.Readable() != 0 || sc.Info().PAWSDrops != 1 {
		t.Fatalf("old duplicate: readable %d, PAWS drops %d", sc.Readable(), sc.Info().PAWSDrops)
	}
	inject(n, b, craft(c.LocalAddr(), c.RemoteAddr(), nxt, sc.sndWire(sc.sndNxt), wire.FlagACK|wire.FlagPSH, 1000, tsOpt(recent+2, 0), []byte("fresh")))
	if sc.Readable() != 5 || sc.tsRecent != recent+2 || b.Stats().PAWSRollbacks != 1 {
		t.Fatalf("readable %d, TS.Recent %d (want %d), rollbacks %d", sc.Readable(), sc.tsRecent, recent+2, b.Stats().PAWSRollbacks)
	}
}
