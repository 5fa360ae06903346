package wire

import (
	"encoding/binary"
	"fmt"
)

// TCP option kinds (IANA "TCP Option Kind Numbers").
const (
	OptEOL           = 0
	OptNOP           = 1
	OptMSS           = 2
	OptWindowScale   = 3
	OptSACKPermitted = 4
	OptSACK          = 5
	OptTimestamps    = 8
	OptMPTCP         = 30
	OptFastOpen      = 34 // TCP Fast Open cookie (RFC 7413)
)

// Fast Open cookie lengths (RFC 7413 section 4.1.1): a cookie of 4 to 16
// bytes, even; an option without one is a cookie request.
const (
	MinFastOpenCookie = 4
	MaxFastOpenCookie = 16
)

// MaxOptionLen is the TCP option space: a 60-byte header less the fixed 20.
const MaxOptionLen = TCPMaxHeaderLen - TCPMinHeaderLen

// MaxSACKBlocks is the most SACK blocks an option can carry (4 x 8 + 2 = 34 bytes).
const MaxSACKBlocks = 4

// MaxWindowScale is the largest shift RFC 7323 section 2.3 allows; a larger
// value is used as 14.
const MaxWindowScale = 14

// SACKBlock is one block of a SACK option: the sequence numbers of the first
// byte received and of the byte after the last.
type SACKBlock struct {
	Left, Right uint32
}

// TCPOptions is the decoded option list of one segment. ParseTCPOptions
// fills it in one pass without allocating; a zero Has* field means the
// option was absent.
type TCPOptions struct {
	MSS            uint16
	HasMSS         bool
	WindowScale    uint8 // already clamped to MaxWindowScale
	HasWindowScale bool
	SACKPermitted  bool
	SACK           [MaxSACKBlocks]SACKBlock
	NumSACK        int
	TSVal, TSEcr   uint32
	HasTimestamps  bool
	// FastOpen reports a TCP Fast Open option (RFC 7413): with
	// FastOpenCookieLen 0 a cookie request, else the cookie in
	// FastOpenCookie[:FastOpenCookieLen].
	FastOpen          bool
	FastOpenCookie    [MaxFastOpenCookie]byte
	FastOpenCookieLen int
	MPTCP             MPTCPOptions
	// Unknown counts options of kinds the stack does not interpret; they are
	// skipped, as RFC 9293 section 3.1 requires.
	Unknown int
}

// ParseTCPOptions decodes the option bytes of a segment with the given
// flags into o, which it resets first.
//
// An option that runs past the option space, or one with a length byte
// below two, makes the rest unreadable: parsing stops there with an error.
// A known option whose contents are wrong (an MSS option of length 5, an
// impossible MPTCP option) is skipped and parsing goes on, so the segment's
// other options are still usable; the first such error is returned at the
// end. The caller decides whether a segment with a bad option is dropped.
func ParseTCPOptions(b []byte, flags TCPFlags, o *TCPOptions) error {
	mp := &o.MPTCP
	*o = TCPOptions{}
	mp.Reset()
	var first error
	for i := 0; i < len(b); {
		kind := b[i]
		if kind == OptEOL {
			break
		}
		if kind == OptNOP {
			i++
			continue
		}
		if i+1 >= len(b) {
			return fmt.Errorf("%w: option kind %d at offset %d has no length byte", ErrBadOption, kind, i)
		}
		n := int(b[i+1])
		if n < 2 {
			return fmt.Errorf("%w: option kind %d at offset %d has length %d", ErrBadOption, kind, i, n)
		}
		if i+n > len(b) {
			return fmt.Errorf("%w: option kind %d at offset %d, length %d runs past the %d-byte option space", ErrBadOption, kind, i, n, len(b))
		}
		opt := b[i : i+n]
		i += n
		var err error
		switch kind {
		case OptMSS:
			if n != 4 {
				err = optLenError("MSS", n)
				break
			}
			o.MSS, o.HasMSS = binary.BigEndian.Uint16(opt[2:]), true
		case OptWindowScale:
			if n != 3 {
				err = optLenError("window scale", n)
				break
			}
			o.WindowScale, o.HasWindowScale = min(opt[2], MaxWindowScale), true
		case OptSACKPermitted:
			if n != 2 {
				err = optLenError("SACK-permitted", n)
				break
			}
			o.SACKPermitted = true
		case OptSACK:
			if (n-2)%8 != 0 || n == 2 {
				err = optLenError("SACK", n)
				break
			}
			o.NumSACK = 0
			for j := 2; j+8 <= n && o.NumSACK < MaxSACKBlocks; j += 8 {
				o.SACK[o.NumSACK] = SACKBlock{binary.BigEndian.Uint32(opt[j:]), binary.BigEndian.Uint32(opt[j+4:])}
				o.NumSACK++
			}
		case OptTimestamps:
			if n != 10 {
				err = optLenError("timestamps", n)
				break
			}
			o.TSVal, o.TSEcr, o.HasTimestamps = binary.BigEndian.Uint32(opt[2:]), binary.BigEndian.Uint32(opt[6:]), true
		case OptMPTCP:
			err = mp.Decode(opt, flags)
		case OptFastOpen:
			// RFC 7413 section 4.1.1 (with erratum 4238): length 2, or 6
			// to 18 and even.
			if c := n - 2; c != 0 && (c < MinFastOpenCookie || c > MaxFastOpenCookie || c%2 != 0) {
				err = optLenError("Fast Open", n)
				break
			}
			o.FastOpen = true
			o.FastOpenCookieLen = copy(o.FastOpenCookie[:], opt[2:])
		default:
			o.Unknown++
		}
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

func optLenError(name string, n int) error {
	return fmt.Errorf("%w: %s option length %d", ErrBadOption, name, n)
}

// OptionBuilder assembles the options of one outgoing segment in the 40
// bytes of option space. Each Add method either adds its option whole or
// returns an error wrapping ErrOptionSpace and leaves the builder as it was,
// so a sender can try an optional option (SACK blocks, an ADD_ADDR) and
// fall back to sending without it. The zero value is an empty builder.
type OptionBuilder struct {
	buf [MaxOptionLen]byte
	n   int
}

// Reset empties the builder for the next segment.
func (b *OptionBuilder) Reset() { b.n = 0 }

// Free returns the option bytes still available.
func (b *OptionBuilder) Free() int { return MaxOptionLen - b.n }

// Len returns the length of Bytes: the options padded to a multiple of four.
func (b *OptionBuilder) Len() int { return (b.n + 3) &^ 3 }

// Bytes returns the options padded with end-of-list bytes to a multiple of
// four, ready for EncodeTCP. The slice aliases the builder.
func (b *OptionBuilder) Bytes() []byte {
	n := b.Len()
	clear(b.buf[b.n:n])
	return b.buf[:n]
}

// reserve returns the next n bytes of option space.
func (b *OptionBuilder) reserve(n int) ([]byte, error) {
	if n > b.Free() {
		return nil, fmt.Errorf("%w: option of %d bytes, %d of %d free", ErrOptionSpace, n, b.Free(), MaxOptionLen)
	}
	s := b.buf[b.n : b.n+n]
	b.n += n
	return s, nil
}

// AddMSS adds a maximum segment size option (SYN segments only).
func (b *OptionBuilder) AddMSS(mss uint16) error {
	s, err := b.reserve(4)
	if err != nil {
		return err
	}
	s[0], s[1] = OptMSS, 4
	binary.BigEndian.PutUint16(s[2:], mss)
	return nil
}

// AddFastOpen adds a TCP Fast Open option (RFC 7413) carrying cookie, or a
// cookie request when cookie is empty. A cookie must be 4 to 16 bytes,
// even.
func (b *OptionBuilder) AddFastOpen(cookie []byte) error {
	if c := len(cookie); c != 0 && (c < MinFastOpenCookie || c > MaxFastOpenCookie || c%2 != 0) {
		return fmt.Errorf("%w: Fast Open cookie of %d bytes", ErrBadOption, c)
	}
	s, err := b.reserve(2 + len(cookie))
	if err != nil {
		return err
	}
	s[0], s[1] = OptFastOpen, byte(2+len(cookie))
	copy(s[2:], cookie)
	return nil
}

// AddWindowScale adds a window scale option, preceded by a NOP so that
// the options after it stay four-byte aligned, as Linux sends it.
func (b *OptionBuilder) AddWindowScale(shift uint8) error {
	s, err := b.reserve(4)
	if err != nil {
		return err
	}
	s[0], s[1], s[2], s[3] = OptNOP, OptWindowScale, 3, min(shift, MaxWindowScale)
	return nil
}

// AddSACKPermitted adds the SACK-permitted option, padded with two NOPs.
func (b *OptionBuilder) AddSACKPermitted() error {
	s, err := b.reserve(4)
	if err != nil {
		return err
	}
	s[0], s[1], s[2], s[3] = OptNOP, OptNOP, OptSACKPermitted, 2
	return nil
}

// AddTimestamps adds a timestamps option, preceded by two NOPs for alignment.
func (b *OptionBuilder) AddTimestamps(val, ecr uint32) error {
	s, err := b.reserve(12)
	if err != nil {
		return err
	}
	s[0], s[1], s[2], s[3] = OptNOP, OptNOP, OptTimestamps, 10
	binary.BigEndian.PutUint32(s[4:], val)
	binary.BigEndian.PutUint32(s[8:], ecr)
	return nil
}

// AddSACKPermittedTimestamps adds SACK-permitted followed by timestamps
// in 12 bytes, the two options aligning each other as Linux sends them on
// a SYN (no NOPs).
func (b *OptionBuilder) AddSACKPermittedTimestamps(val, ecr uint32) error {
	s, err := b.reserve(12)
	if err != nil {
		return err
	}
	s[0], s[1], s[2], s[3] = OptSACKPermitted, 2, OptTimestamps, 10
	binary.BigEndian.PutUint32(s[4:], val)
	binary.BigEndian.PutUint32(s[8:], ecr)
	return nil
}

// AddSACK adds a SACK option with as many of blocks as fit (at most four),
// preceded by two NOPs, and returns how many it added. It adds nothing and
// returns an error when not even one block fits.
func (b *OptionBuilder) AddSACK(blocks []SACKBlock) (int, error) {
	k := min(len(blocks), MaxSACKBlocks, (b.Free()-4)/8)
	if k <= 0 {
		return 0, fmt.Errorf("%w: SACK option needs 12 bytes, %d free", ErrOptionSpace, b.Free())
	}
	s, _ := b.reserve(4 + 8*k)
	s[0], s[1], s[2], s[3] = OptNOP, OptNOP, OptSACK, byte(2+8*k)
	for i, blk := range blocks[:k] {
		binary.BigEndian.PutUint32(s[4+8*i:], blk.Left)
		binary.BigEndian.PutUint32(s[8+8*i:], blk.Right)
	}
	return k, nil
}
