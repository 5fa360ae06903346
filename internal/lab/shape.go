//go:build linux

package lab

import (
	"fmt"
	"strconv"
	"time"
)

// SetRate puts (or replaces) a tbf qdisc limiting the interface's egress
// to l.Rate bits per second; a zero Rate removes the limit.
func (n Netns) SetRate(ifc string, l LinkConfig) error {
	if l.Rate == 0 {
		return n.ClearRate(ifc)
	}
	burst := l.Burst
	if burst == 0 {
		burst = max(int(l.Rate/8/1000), 4096)
	}
	latency := l.Latency
	if latency == 0 {
		latency = 20 * time.Millisecond
	}
	_, err := n.Exec("tc", "qdisc", "replace", "dev", ifc, "root", "tbf",
		"rate", strconv.FormatUint(l.Rate, 10)+"bit",
		"burst", strconv.Itoa(burst),
		"latency", fmt.Sprintf("%dus", latency.Microseconds()))
	return err
}

// ClearRate removes the interface's root qdisc, if any.
func (n Netns) ClearRate(ifc string) error {
	out, err := n.Exec("tc", "qdisc", "show", "dev", ifc, "root")
	if err != nil {
		return err
	}
	if !containsWord(out, "tbf") {
		return nil
	}
	_, err = n.Exec("tc", "qdisc", "del", "dev", ifc, "root")
	return err
}

func containsWord(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if s[i:i+len(w)] == w && (i == 0 || s[i-1] == ' ') && (i+len(w) == len(s) || s[i+len(w)] == ' ') {
			return true
		}
	}
	return false
}
