package scan

import (
	"strconv"

	"github.com/mptcp-go/mptcp/wire"
)

// rawOption is one TCP option as found in the option bytes, with its offset
// in the option space.
type rawOption struct {
	kind  uint8
	off   int
	bytes []byte // the whole option, kind and length included
}

// walkOptions lists the options in b other than NOP and EOL. It is lenient,
// since quoted bytes may end anywhere: it stops at EOL, at an option whose
// length byte is missing or impossible, or at one that runs past b; cut
// reports that the last option (or its length byte) ran past b, which in a
// truncated quote means the rest was not quoted.
func walkOptions(b []byte) (opts []rawOption, cut bool) {
	for i := 0; i < len(b); {
		switch k := b[i]; k {
		case wire.OptEOL:
			return opts, false
		case wire.OptNOP:
			i++
		default:
			if i+1 >= len(b) {
				return opts, true
			}
			n := int(b[i+1])
			if n < 2 {
				return opts, false
			}
			if i+n > len(b) {
				return opts, true
			}
			opts = append(opts, rawOption{kind: k, off: i, bytes: b[i : i+n]})
			i += n
		}
	}
	return opts, false
}

// optionName names an option kind as people know it.
func optionName(kind uint8) string {
	switch kind {
	case wire.OptMSS:
		return "MSS"
	case wire.OptWindowScale:
		return "window scale"
	case wire.OptSACKPermitted:
		return "SACK-permitted"
	case wire.OptSACK:
		return "SACK"
	case wire.OptTimestamps:
		return "timestamps"
	case wire.OptMPTCP:
		return "MPTCP"
	}
	return "option " + strconv.Itoa(int(kind))
}

// hasMPCapable reports whether option bytes carry an option of kind 30 with
// the MP_CAPABLE subtype, whether or not it decodes.
func hasMPCapable(b []byte) bool {
	opts, _ := walkOptions(b)
	for _, o := range opts {
		if o.kind == wire.OptMPTCP && len(o.bytes) >= 3 && wire.MPTCPSubtype(o.bytes[2]>>4) == wire.SubtypeMPCapable {
			return true
		}
	}
	return false
}
