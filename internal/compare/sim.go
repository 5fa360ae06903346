package compare

import (
	"fmt"
	"slices"
	"time"

	"github.com/mptcp-go/mptcp/internal/simrun"
	"github.com/mptcp-go/mptcp/scenario"
)

// simInterval is the simulator's reporting interval, fine enough to see
// whether data flowed during a short outage.
const simInterval = 100 * time.Millisecond

func simRun(sc *scenario.Scenario) (*simrun.Result, error) {
	r, err := simrun.Run(sc, simrun.Options{Interval: simInterval})
	if err != nil {
		return nil, err
	}
	if r.Error != "" {
		return nil, fmt.Errorf("simulation: %s", r.Error)
	}
	if !r.IntegrityOK {
		return nil, fmt.Errorf("simulation: bytes received differ from those sent")
	}
	return r, nil
}

// simAggregate is the simulator's goodput over the sum of capacities.
func simAggregate(sc *scenario.Scenario) Value {
	r, err := simRun(sc)
	if err != nil {
		return Value{Error: err.Error()}
	}
	return Value{Number: number(r.Utilisation), Verified: true,
		Detail: map[string]float64{"goodput_bps": r.GoodputBps, "capacity_bps": float64(r.CapacityBps)}}
}

// simHandover is the simulator's longest stall and whether data arrived
// while the primary path was down.
func simHandover(sc *scenario.Scenario, down, up time.Duration) (stall, cont Value) {
	r, err := simRun(sc)
	if err != nil {
		return Value{Error: err.Error()}, Value{Error: err.Error()}
	}
	var during float64
	for _, iv := range r.Intervals {
		t := time.Duration(iv.T * float64(time.Second))
		if t-simInterval >= down && t <= up {
			during += iv.TotalBps * simInterval.Seconds() / 8
		}
	}
	c := during > 0
	return Value{Number: number(r.MaxStallMs), Verified: true},
		Value{Bool: &c, Verified: true, Detail: map[string]float64{"bytes_during_outage": during}}
}

// simFairness is the simulator's MPTCP-to-TCP goodput ratio.
func simFairness(sc *scenario.Scenario) Value {
	r, err := simRun(sc)
	if err != nil {
		return Value{Error: err.Error()}
	}
	if r.MPTCPToTCPRatio == nil || r.TCPGoodputBps == nil {
		return Value{Error: "the simulation reported no competitor"}
	}
	return Value{Number: number(*r.MPTCPToTCPRatio), Verified: true,
		Detail: map[string]float64{"mptcp_bps": r.GoodputBps, "tcp_bps": *r.TCPGoodputBps}}
}

// simRequests predicts the completion time of a size-byte download on a
// new connection, over several seeds. The simulator times a transfer from
// the server's accept; the handshake before it (SYN, SYN-ACK, ACK: one and
// a half round trips of the first path) is added, as a client's dial
// includes it.
func simRequests(sc *scenario.Scenario, size int64, seeds int) (median, p99 Value) {
	s := *sc
	s.Transfer.Size = size
	s.Duration = 20 * time.Second
	hs := 3 * (s.Paths[0].Link.Down.Delay + s.Paths[0].Link.Up.Delay) / 2
	var ms []float64
	for seed := 1; seed <= seeds; seed++ {
		s.Seed = uint64(seed)
		r, err := simRun(&s)
		if err != nil {
			return Value{Error: err.Error()}, Value{Error: err.Error()}
		}
		if !r.Completed {
			return Value{Error: fmt.Sprintf("seed %d: the transfer did not complete in %v", seed, s.Duration)}, Value{Error: "see median"}
		}
		ms = append(ms, r.CompletionS*1000+float64(hs.Milliseconds()))
	}
	d := map[string]float64{"handshake_added_ms": float64(hs.Milliseconds()), "runs": float64(seeds)}
	return Value{Number: number(quantile(ms, 0.5)), Verified: true, Detail: d},
		Value{Number: number(quantile(ms, 0.99)), Verified: true, Detail: d}
}

// quantile is the nearest-rank q-quantile of xs.
func quantile(xs []float64, q float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}
