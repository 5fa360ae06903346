package proxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/mptcp-go/mptcp/internal/convert"
)

// UDP relaying (SOCKS5 UDP ASSOCIATE, RFC 1928 section 7): the front end
// takes the application's datagrams and carries them over one MPTCP
// connection to the converter (a Convert message with the private UDP
// TLV), framed as a 2-byte length, a SOCKS address (type, address, port)
// and the payload; the converter sends them from a UDP socket of its own
// and frames the answers back the same way.

// maxDatagram is the largest UDP payload relayed.
const maxDatagram = 65507

// udpIdle ends an association nobody used for this long.
const udpIdle = 2 * time.Minute

// writeFrame writes one framed datagram for address a.
func writeFrame(w io.Writer, t Target, payload []byte) error {
	b := make([]byte, 2, 2+22+len(payload))
	b = appendTarget(b, t)
	b = append(b, payload...)
	binary.BigEndian.PutUint16(b, uint16(len(b)-2))
	_, err := w.Write(b)
	return err
}

// appendTarget appends a SOCKS address: a name when t has one.
func appendTarget(b []byte, t Target) []byte {
	if t.Host != "" {
		b = append(b, socksAtypDomain, byte(len(t.Host)))
		b = append(b, t.Host...)
		return binary.BigEndian.AppendUint16(b, t.Addr.Port())
	}
	return appendSocksAddr(b, t.Addr)
}

// readFrame reads one framed datagram into buf.
func readFrame(r *bufio.Reader, buf []byte) (Target, []byte, error) {
	var l [2]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return Target{}, nil, err
	}
	n := int(binary.BigEndian.Uint16(l[:]))
	if n > len(buf) {
		return Target{}, nil, fmt.Errorf("frame of %d bytes", n)
	}
	frame := buf[:n]
	if _, err := io.ReadFull(r, frame); err != nil {
		return Target{}, nil, err
	}
	return parseDatagramAddr(frame)
}

// parseDatagramAddr splits a SOCKS address off the front of b.
func parseDatagramAddr(b []byte) (Target, []byte, error) {
	if len(b) < 1 {
		return Target{}, nil, errors.New("empty datagram")
	}
	r := bytes.NewReader(b[1:])
	t, err := readSocksAddr(r, b[0])
	if err != nil {
		return Target{}, nil, fmt.Errorf("datagram address: %w", err)
	}
	return t, b[len(b)-r.Len():], nil
}

// serveUDPAssociate runs one SOCKS5 UDP association: a UDP socket for the
// application on the control connection's local address, one converter
// connection for the datagrams, both ending with the control connection.
func (f *Front) serveUDPAssociate(ctrl net.Conn, r *bufio.Reader) {
	defer ctrl.Close()
	local := addrOf(ctrl.LocalAddr())
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(local.Addr(), 0)))
	if err != nil {
		writeSocksReply(ctrl, socksGeneralFailure, netip.AddrPort{})
		return
	}
	defer pc.Close()
	msg, err := f.Client.message(Target{Addr: netip.AddrPortFrom(netip.IPv6Unspecified(), 0)}, true)
	var up *Upstream
	if err == nil {
		up, err = f.Client.open(context.Background(), msg)
	}
	if err == nil {
		_ = up.SetReadDeadline(time.Now().Add(f.timeout()))
		_, err = up.Reply()
	}
	if err != nil {
		f.converterFailed(Target{}, err)
		writeSocksReply(ctrl, socksReplyFor(err), netip.AddrPort{})
		return
	}
	defer up.Close()
	_ = up.SetReadDeadline(time.Time{})
	_ = ctrl.SetDeadline(time.Time{})
	writeSocksReply(ctrl, socksSucceeded, pc.LocalAddr().(*net.UDPAddr).AddrPort())
	app := addrOf(ctrl.RemoteAddr()).Addr().Unmap()
	go func() { // the association lives as long as the control connection
		_, _ = io.Copy(io.Discard, r)
		pc.Close()
		up.Close()
	}()
	a := &udpAssoc{f: f, pc: pc, up: up, app: app}
	go a.down()
	a.upward()
}

// udpAssoc is one UDP association of the front end.
type udpAssoc struct {
	f    *Front
	pc   *net.UDPConn
	up   *Upstream
	app  netip.Addr                     // the application's address (from the control connection)
	peer atomic.Pointer[netip.AddrPort] // its UDP source, learnt from its first datagram
}

// upward forwards the application's datagrams (from its address only) to
// the converter. Fragmented datagrams (FRAG != 0) are dropped, as RFC 1928
// allows an implementation that does not reassemble.
func (a *udpAssoc) upward() {
	f, pc, up := a.f, a.pc, a.up
	buf := make([]byte, maxDatagram+262)
	for {
		_ = pc.SetReadDeadline(time.Now().Add(udpIdle))
		n, from, err := pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		if from.Addr().Unmap() != a.app || n < 4 || buf[2] != 0 {
			f.Stats.Malformed.Add(1)
			continue
		}
		a.peer.Store(&from)
		t, payload, err := parseDatagramAddr(buf[3:n])
		if err != nil {
			f.Stats.Malformed.Add(1)
			continue
		}
		if writeFrame(up, t, payload) != nil {
			return
		}
		f.Stats.UDPDatagrams.Add(1)
	}
}

// down returns the converter's datagrams to the application's address.
func (a *udpAssoc) down() {
	f, pc, up := a.f, a.pc, a.up
	r := bufio.NewReader(up)
	buf := make([]byte, maxDatagram+262)
	for {
		t, payload, err := readFrame(r, buf)
		if err != nil {
			pc.Close()
			return
		}
		peer := a.peer.Load()
		if peer == nil {
			continue
		}
		out := appendTarget([]byte{0, 0, 0}, t)
		out = append(out, payload...)
		if _, err := pc.WriteToUDPAddrPort(out, *peer); err == nil {
			f.Stats.UDPDatagrams.Add(1)
		}
	}
}

// relayUDP is the converter's side of a UDP association.
func (s *Server) relayUDP(c net.Conn) {
	defer c.Close()
	pc, err := net.ListenUDP("udp", nil)
	if err != nil {
		s.refuse(c, &refusal{code: convert.ErrResourceExceeded, value: []byte{0}, err: err})
		return
	}
	defer pc.Close()
	b, _ := (&convert.Message{}).Append(nil)
	if _, err := c.Write(b); err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	go func() {
		buf := make([]byte, maxDatagram)
		for {
			_ = pc.SetReadDeadline(time.Now().Add(udpIdle))
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				c.Close()
				return
			}
			if writeFrame(c, targetOf(from), buf[:n]) != nil {
				return
			}
			s.Stats.UDPDatagrams.Add(1)
		}
	}()
	r := bufio.NewReader(c)
	buf := make([]byte, maxDatagram+262)
	for {
		t, payload, err := readFrame(r, buf)
		if err != nil {
			return
		}
		if t.Host != "" {
			a, err := s.resolve(t.Host)
			if err != nil {
				s.Stats.DestFailed.Add(1)
				continue
			}
			t.Addr = netip.AddrPortFrom(a, t.Addr.Port())
		}
		if s.Policy.Check(t.Addr) != nil {
			s.Stats.Forbidden.Add(1)
			continue
		}
		if _, err := pc.WriteToUDPAddrPort(payload, t.Addr); err == nil {
			s.Stats.UDPDatagrams.Add(1)
		}
	}
}
