package netsim

import (
	"fmt"
	"math/rand/v2"
)

// GilbertElliott is a two-state Markov loss model, the usual way to get
// losses in bursts (a fading radio, a flapping port). Before each packet
// the channel moves from Good to Bad with probability P and from Bad to
// Good with probability R; the packet is then lost with probability
// LossGood or LossBad. The long-run fraction of time in Bad is P/(P+R), and
// a stay in Bad lasts 1/R packets on average. The classic Gilbert model is
// LossGood 0, LossBad 1.
type GilbertElliott struct {
	P, R              float64
	LossGood, LossBad float64
}

func (g *GilbertElliott) validate() error {
	for _, p := range []float64{g.P, g.R, g.LossGood, g.LossBad} {
		if !(p >= 0 && p <= 1) {
			return fmt.Errorf("%w: Gilbert-Elliott probability %v not in [0, 1]", ErrInvalidConfig, p)
		}
	}
	return nil
}

// MeanLoss returns the model's long-run loss rate.
func (g *GilbertElliott) MeanLoss() float64 {
	if g.P+g.R == 0 {
		return g.LossGood
	}
	bad := g.P / (g.P + g.R)
	return (1-bad)*g.LossGood + bad*g.LossBad
}

// LossProcess is a pipe's loss process: its own random stream, so enabling
// jitter or duplication on a pipe does not change which packets it loses,
// and its Gilbert-Elliott state. It is exported so that emu draws the same
// fates from the same stream, packet for packet, as netsim does.
type LossProcess struct {
	r   *rand.Rand
	bad bool
}

// NewLossProcess returns a loss process drawing from r, starting in the
// Good state.
func NewLossProcess(r *rand.Rand) LossProcess { return LossProcess{r: r} }

// Lose draws the fate of the next packet under cfg: true if it is lost.
func (l *LossProcess) Lose(cfg *PipeConfig) bool {
	lost := false
	if cfg.Loss > 0 && l.r.Float64() < cfg.Loss {
		lost = true
	}
	if g := cfg.Burst; g != nil {
		if l.bad {
			if l.r.Float64() < g.R {
				l.bad = false
			}
		} else if l.r.Float64() < g.P {
			l.bad = true
		}
		p := g.LossGood
		if l.bad {
			p = g.LossBad
		}
		if p > 0 && l.r.Float64() < p {
			lost = true
		}
	}
	return lost
}
