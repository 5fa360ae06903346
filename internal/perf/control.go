package perf

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Every connection of a test starts with a hello: the magic, the protocol
// version, the kind of connection, the test's cookie and, for a data
// connection, its stream number.
const (
	magic       = "mptcperf"
	version     = 1
	helloLen    = len(magic) + 1 + 1 + cookieLen + 2
	cookieLen   = 16
	kindControl = 1
	kindData    = 2
	maxMessage  = 1 << 20
)

// ErrProtocol is wrapped by the errors of a peer that does not speak this
// protocol, or breaks it.
var ErrProtocol = errors.New("perf protocol error")

type cookie [cookieLen]byte

type hello struct {
	kind   byte
	cookie cookie
	stream uint16
}

func (h hello) marshal() []byte {
	b := make([]byte, 0, helloLen)
	b = append(b, magic...)
	b = append(b, version, h.kind)
	b = append(b, h.cookie[:]...)
	return binary.BigEndian.AppendUint16(b, h.stream)
}

func readHello(r io.Reader) (hello, error) {
	var b [helloLen]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return hello{}, fmt.Errorf("reading the hello: %w", err)
	}
	if string(b[:len(magic)]) != magic {
		return hello{}, &notPerfError{peer: "client or server", first: b[:len(magic)]}
	}
	b2 := b[len(magic):]
	if b2[0] != version {
		return hello{}, fmt.Errorf("%w: protocol version %d, want %d", ErrProtocol, b2[0], version)
	}
	h := hello{kind: b2[1]}
	if h.kind != kindControl && h.kind != kindData {
		return hello{}, fmt.Errorf("%w: unknown connection kind %d", ErrProtocol, h.kind)
	}
	copy(h.cookie[:], b2[2:2+cookieLen])
	h.stream = binary.BigEndian.Uint16(b2[2+cookieLen:])
	return h, nil
}

// message is one control message: a 4-byte big-endian length and that
// many bytes of JSON.
type message struct {
	Type   string      `json:"type"`
	Params *Params     `json:"params,omitempty"`
	Error  string      `json:"error,omitempty"`
	Result *SideResult `json:"result,omitempty"`
}

// Control message types.
const (
	msgParams = "params" // client: the test to run
	msgAccept = "accept" // server: test accepted, open the streams
	msgError  = "error"  // either: the test cannot go on
	msgStart  = "start"  // server: every stream is there, go
	msgResult = "result" // either: what this side measured
)

// controlConn frames messages on a control connection.
type controlConn struct {
	w    io.Writer
	r    *bufio.Reader
	peer string // "server" or "client", for errors
}

func newControlConn(rw io.ReadWriter, peer string) *controlConn {
	return &controlConn{w: rw, r: bufio.NewReader(rw), peer: peer}
}

// notPerfError is a peer whose first bytes show that it speaks another
// protocol: an HTTP server on the port, an SSH daemon. It wraps
// ErrProtocol.
type notPerfError struct {
	peer  string // what it should have been: "server", "client"
	first []byte // the bytes it sent
}

func (e *notPerfError) Error() string {
	return fmt.Sprintf("the peer is not an mptcp perf %s (%s)", e.peer, guessProtocol(e.first))
}

func (e *notPerfError) Unwrap() error { return ErrProtocol }

// guessProtocol says what a peer's first bytes look like, in words.
func guessProtocol(b []byte) string {
	s := string(b)
	for _, p := range []struct{ prefix, name string }{
		{"HTTP", "HTTP"}, {"GET ", "HTTP"}, {"POST", "HTTP"}, {"HEAD", "HTTP"}, {"PUT ", "HTTP"},
		{"SSH-", "SSH"}, {"\x16\x03", "TLS"}, {"220 ", "SMTP or FTP"},
	} {
		if strings.HasPrefix(s, p.prefix) {
			return "it speaks " + p.name + "?"
		}
	}
	for _, c := range b {
		if c < ' ' || c > '~' {
			return fmt.Sprintf("it sent the bytes % x", b)
		}
	}
	return fmt.Sprintf("it sent %q", b)
}

func (c *controlConn) send(m message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encoding %s message: %w", m.Type, err)
	}
	b := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(body)), uint32(len(body)))
	if _, err := c.w.Write(append(b, body...)); err != nil {
		return fmt.Errorf("sending %s message: %w", m.Type, err)
	}
	return nil
}

// recv reads the next message. A message of type error becomes an error.
func (c *controlConn) recv() (message, error) {
	var lb [4]byte
	if _, err := io.ReadFull(c.r, lb[:]); err != nil {
		return message{}, fmt.Errorf("reading a control message: %w", err)
	}
	n := binary.BigEndian.Uint32(lb[:])
	if n > maxMessage {
		// This side's peer would never send a message this long: the
		// length is the first bytes of another protocol ("HTTP" reads
		// as 1213486160).
		return message{}, &notPerfError{peer: c.peer, first: lb[:]}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return message{}, fmt.Errorf("reading a control message: %w", err)
	}
	var m message
	if err := json.Unmarshal(body, &m); err != nil {
		return message{}, fmt.Errorf("%w: control message: %v", ErrProtocol, err)
	}
	if m.Type == msgError {
		return m, &PeerError{Msg: m.Error}
	}
	return m, nil
}

// expect reads the next message and checks its type.
func (c *controlConn) expect(typ string) (message, error) {
	m, err := c.recv()
	if err != nil {
		return m, err
	}
	if m.Type != typ {
		return m, fmt.Errorf("%w: got a %q message, want %q", ErrProtocol, m.Type, typ)
	}
	return m, nil
}

// PeerError is an error the other side reported over the control
// connection.
type PeerError struct{ Msg string }

// Error returns the peer's message, marked as the peer's.
func (e *PeerError) Error() string { return "peer: " + e.Msg }
