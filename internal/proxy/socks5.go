package proxy

import (
	"bufio"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
)

// SOCKS5 (RFC 1928) constants this server uses.
const (
	socksVersion     = 5
	socksNoAuth      = 0x00
	socksUserPass    = 0x02
	socksNoMethod    = 0xff
	socksCmdConnect  = 0x01
	socksCmdUDP      = 0x03
	socksAtypIPv4    = 0x01
	socksAtypDomain  = 0x03
	socksAtypIPv6    = 0x04
	socksUserPassVer = 0x01
)

// SOCKS5 reply codes (RFC 1928 section 6).
const (
	socksSucceeded          = 0x00
	socksGeneralFailure     = 0x01
	socksNotAllowed         = 0x02
	socksNetUnreachable     = 0x03
	socksHostUnreachable    = 0x04
	socksConnRefused        = 0x05
	socksCmdNotSupported    = 0x07
	socksAddrNotSupported   = 0x08
	socksAuthFailureVersion = 0x01 // RFC 1929: any non-zero status is a failure
)

// Target is where a proxied connection goes: an address, or a host name
// the converter resolves (so the client's DNS does not leak or mislocate).
type Target struct {
	Addr netip.AddrPort
	Host string // set instead of Addr.Addr() for a name; Addr.Port() still holds the port
}

// String formats the target as host:port.
func (t Target) String() string {
	if t.Host != "" {
		return net.JoinHostPort(t.Host, strconv.Itoa(int(t.Addr.Port())))
	}
	return t.Addr.String()
}

// socksRequest is what a SOCKS5 client asked for.
type socksRequest struct {
	cmd    byte
	target Target
}

// Credentials are the RFC 1929 user name and password a SOCKS5 client
// must present; empty means no authentication.
type Credentials struct {
	User, Password string
}

// socksHandshake runs the SOCKS5 method negotiation, the RFC 1929
// sub-negotiation when creds are set, and reads the request.
func socksHandshake(r *bufio.Reader, w io.Writer, creds Credentials) (socksRequest, error) {
	var req socksRequest
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return req, fmt.Errorf("socks5: reading greeting: %w", err)
	}
	if hdr[0] != socksVersion {
		return req, fmt.Errorf("socks5: version %d, not 5", hdr[0])
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(r, methods); err != nil {
		return req, fmt.Errorf("socks5: reading methods: %w", err)
	}
	want := byte(socksNoAuth)
	if creds.User != "" {
		want = socksUserPass
	}
	if !contains(methods, want) {
		_, _ = w.Write([]byte{socksVersion, socksNoMethod})
		return req, fmt.Errorf("socks5: client offers methods %x, this proxy needs %#x", methods, want)
	}
	if _, err := w.Write([]byte{socksVersion, want}); err != nil {
		return req, err
	}
	if want == socksUserPass {
		if err := socksUserPassAuth(r, w, creds); err != nil {
			return req, err
		}
	}
	return readSocksRequest(r, w)
}

func contains(b []byte, x byte) bool {
	for _, c := range b {
		if c == x {
			return true
		}
	}
	return false
}

// socksUserPassAuth runs RFC 1929's user name / password check.
func socksUserPassAuth(r *bufio.Reader, w io.Writer, creds Credentials) error {
	ver, err := r.ReadByte()
	if err != nil || ver != socksUserPassVer {
		return fmt.Errorf("socks5: bad user/password version %d: %v", ver, err)
	}
	user, err := readLenString(r)
	if err != nil {
		return err
	}
	pass, err := readLenString(r)
	if err != nil {
		return err
	}
	ok := subtle.ConstantTimeCompare([]byte(user), []byte(creds.User)) &
		subtle.ConstantTimeCompare([]byte(pass), []byte(creds.Password))
	if ok != 1 {
		_, _ = w.Write([]byte{socksUserPassVer, socksAuthFailureVersion})
		return errNotAuthorized
	}
	_, err = w.Write([]byte{socksUserPassVer, 0})
	return err
}

// errNotAuthorized is a client that failed authentication.
var errNotAuthorized = errors.New("not authorized")

// byteReader is what the address parsers read from: the client's
// bufio.Reader, or a bytes.Reader over a datagram.
type byteReader interface {
	io.Reader
	io.ByteReader
}

func readLenString(r byteReader) (string, error) {
	n, err := r.ReadByte()
	if err != nil {
		return "", fmt.Errorf("socks5: reading length: %w", err)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("socks5: reading %d bytes: %w", n, err)
	}
	return string(b), nil
}

// readSocksRequest reads VER CMD RSV ATYP DST.ADDR DST.PORT.
func readSocksRequest(r *bufio.Reader, w io.Writer) (socksRequest, error) {
	var req socksRequest
	hdr := make([]byte, 4)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return req, fmt.Errorf("socks5: reading request: %w", err)
	}
	if hdr[0] != socksVersion {
		return req, fmt.Errorf("socks5: request version %d", hdr[0])
	}
	req.cmd = hdr[1]
	t, err := readSocksAddr(r, hdr[3])
	if err != nil {
		writeSocksReply(w, socksAddrNotSupported, netip.AddrPort{})
		return req, err
	}
	req.target = t
	if req.cmd != socksCmdConnect && req.cmd != socksCmdUDP {
		writeSocksReply(w, socksCmdNotSupported, netip.AddrPort{})
		return req, fmt.Errorf("socks5: command %d not supported", req.cmd)
	}
	return req, nil
}

// readSocksAddr reads an address of type atyp and its port.
func readSocksAddr(r byteReader, atyp byte) (Target, error) {
	var t Target
	var a netip.Addr
	switch atyp {
	case socksAtypIPv4:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return t, err
		}
		a = netip.AddrFrom4(b)
	case socksAtypIPv6:
		var b [16]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return t, err
		}
		a = netip.AddrFrom16(b)
	case socksAtypDomain:
		host, err := readLenString(r)
		if err != nil {
			return t, err
		}
		if host == "" {
			return t, errors.New("socks5: empty host name")
		}
		t.Host = host
		a = netip.IPv6Unspecified()
	default:
		return t, fmt.Errorf("socks5: address type %d not supported", atyp)
	}
	var p [2]byte
	if _, err := io.ReadFull(r, p[:]); err != nil {
		return t, err
	}
	if ip, err := netip.ParseAddr(t.Host); err == nil { // a literal sent as a name
		a, t.Host = ip.Unmap(), ""
	}
	t.Addr = netip.AddrPortFrom(a, binary.BigEndian.Uint16(p[:]))
	return t, nil
}

// writeSocksReply writes VER REP RSV ATYP BND.ADDR BND.PORT.
func writeSocksReply(w io.Writer, rep byte, bound netip.AddrPort) {
	b := []byte{socksVersion, rep, 0}
	b = appendSocksAddr(b, bound)
	_, _ = w.Write(b)
}

func appendSocksAddr(b []byte, ap netip.AddrPort) []byte {
	a := ap.Addr().Unmap()
	if a.Is6() {
		b = append(b, socksAtypIPv6)
		s := a.As16()
		b = append(b, s[:]...)
	} else {
		if !a.IsValid() {
			a = netip.IPv4Unspecified()
		}
		b = append(b, socksAtypIPv4)
		s := a.As4()
		b = append(b, s[:]...)
	}
	return binary.BigEndian.AppendUint16(b, ap.Port())
}
