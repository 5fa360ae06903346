package scenario

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Rate is a bit rate in bit/s. In a file it is written with a unit, as
// "20Mbit", "1.5Gbit", "500kbit" or "100Mbps"; a bare number is bit/s.
type Rate int64

// Bits per second for the units a Rate accepts.
var rateUnits = []struct {
	suffix string
	mult   float64
}{
	{"gbit", 1e9}, {"gbps", 1e9}, {"mbit", 1e6}, {"mbps", 1e6},
	{"kbit", 1e3}, {"kbps", 1e3}, {"bit", 1}, {"bps", 1},
}

// MaxRate is the highest rate a link takes, 1 Tbit/s: far above any
// link the simulator or the emulator can model, far below where the
// arithmetic in bits per second would overflow.
const MaxRate = 1e12

// ParseRate parses a rate such as "20Mbit".
func ParseRate(s string) (Rate, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := 1.0
	for _, u := range rateUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) {
		return 0, fmt.Errorf("%q is not a rate (examples: 20Mbit, 1.5Gbit, 500kbit)", s)
	}
	if v < 0 || v*mult > MaxRate {
		return 0, fmt.Errorf("%q is out of range: a rate is 0 (unlimited) to %s", s, Rate(MaxRate))
	}
	return Rate(math.Round(v * mult)), nil
}

// String formats the rate with the largest unit that keeps it readable.
func (r Rate) String() string {
	switch {
	case r >= 1e9 && r%1e7 == 0:
		return strconv.FormatFloat(float64(r)/1e9, 'f', -1, 64) + "Gbit"
	case r >= 1e6:
		return strconv.FormatFloat(float64(r)/1e6, 'f', -1, 64) + "Mbit"
	case r >= 1e3:
		return strconv.FormatFloat(float64(r)/1e3, 'f', -1, 64) + "kbit"
	}
	return strconv.FormatInt(int64(r), 10) + "bit"
}

// ParseDuration parses a non-negative duration as Go writes it ("20ms", "1m30s").
func ParseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a duration (examples: 20ms, 1.5s, 2m)", s)
	}
	return v, nil
}

// ParseProbability parses a probability written as a fraction ("0.01") or a
// percentage ("1%").
func ParseProbability(s string) (float64, error) {
	t := strings.TrimSpace(s)
	div := 1.0
	if strings.HasSuffix(t, "%") {
		t, div = strings.TrimSpace(strings.TrimSuffix(t, "%")), 100
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || !(v/div >= 0 && v/div <= 1) {
		return 0, fmt.Errorf("%q is not a probability (examples: 1%%, 0.01)", s)
	}
	return v / div, nil
}

// Size is a byte count written with an optional unit: "64KB", "10MB",
// "1GiB", or a bare number of bytes.
type Size int64

var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	{"gib", 1 << 30}, {"mib", 1 << 20}, {"kib", 1 << 10},
	{"gb", 1e9}, {"mb", 1e6}, {"kb", 1e3}, {"b", 1},
}

// maxSize is the largest size ParseSize takes, 1 PiB.
const maxSize = 1 << 50

// ParseSize parses a size such as "64KB".
func ParseSize(s string) (Size, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := 1.0
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) {
		return 0, fmt.Errorf("%q is not a size (examples: 64KB, 10MB, 1GiB)", s)
	}
	if v < 0 || v*mult > maxSize {
		return 0, fmt.Errorf("%q is out of range: a size is 0 to %s", s, "1 PiB")
	}
	return Size(math.Round(v * mult)), nil
}

// Queue is a drop-tail queue limit: "100p" (packets), "64KB" (bytes) or
// "1bdp" (a multiple of the path's bandwidth-delay product).
type Queue struct {
	Packets int
	Bytes   int64
	BDP     float64
}

// ParseQueue parses a queue limit.
func ParseQueue(s string) (Queue, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch {
	case strings.HasSuffix(t, "bdp"):
		v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(t, "bdp")), 64)
		if err == nil && v > 0 && v <= 1000 {
			return Queue{BDP: v}, nil
		}
	case strings.HasSuffix(t, "p"):
		v, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(t, "p")))
		if err == nil && v > 0 {
			return Queue{Packets: v}, nil
		}
	case strings.HasSuffix(t, "b"):
		// A unit is required: a bare "100" could mean packets or bytes,
		// and reading it as 100 bytes would cripple the link silently.
		if z, err := ParseSize(t); err == nil && z > 0 {
			return Queue{Bytes: int64(z)}, nil
		}
	}
	return Queue{}, fmt.Errorf("%q is not a queue limit (examples: 100p for packets, 64KB for bytes, 1bdp; a unit is required)", s)
}

// IsZero reports whether no limit was given.
func (q Queue) IsZero() bool { return q == Queue{} }
