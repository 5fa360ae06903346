//go:build linux

package proxy

import (
	"encoding/binary"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// TCP_INFO's tcpi_options bits (linux/tcp.h).
const (
	tcpiOptTimestamps = 1
	tcpiOptSACK       = 2
)

// synAckOptions returns the TCP options the destination's SYN/ACK
// negotiated, for the Extended TCP Header TLV. Go's sockets do not expose
// the SYN/ACK itself, so the options are rebuilt from TCP_INFO: MSS (the
// kernel's send MSS), SACK permitted, and timestamps (with zero values: a client only learns that they were
// negotiated).
func synAckOptions(c net.Conn) []byte {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return []byte{}
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return []byte{}
	}
	var info *unix.TCPInfo
	_ = rc.Control(func(fd uintptr) { info, err = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) })
	if err != nil || info == nil {
		return []byte{}
	}
	b := []byte{2, 4, 0, 0}
	binary.BigEndian.PutUint16(b[2:], uint16(info.Snd_mss))
	if info.Options&tcpiOptSACK != 0 {
		b = append(b, 4, 2)
	}
	if info.Options&tcpiOptTimestamps != 0 {
		b = append(b, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0)
	}
	// The window scale is left out: x/sys's TCPInfo does not carry the
	// tcpi_snd_wscale bit-field.
	for len(b)%4 != 0 {
		b = append(b, 1) // NOP
	}
	return b
}
