package checkserve

import (
	"net"

	"github.com/mptcp-go/mptcp/core"
)

// infoConn is a connection of our stack (*mptcp.Conn).
type infoConn interface {
	Info() core.ConnInfo
}

// User inspects connections of our stack; others are reported as plain
// TCP.
func User(c net.Conn) Result {
	r := base(c, "user")
	ic, ok := c.(infoConn)
	if !ok {
		return r
	}
	ci := ic.Info()
	r.MPTCP = !ci.FellBack
	if r.MPTCP {
		r.Version = 1
	}
	r.Checksum = ci.Checksum
	r.Fallback = ci.FellBack && ci.FallbackReason != ""
	r.FallbackReason = ci.FallbackReason
	if !r.MPTCP {
		return r
	}
	for _, s := range append(ci.Subflows, ci.ClosedSubflows...) {
		r.Subflows = append(r.Subflows, Subflow{Client: unmap(s.Remote).String(), Server: unmap(s.Local).String(), Join: s.Join})
		r.Join = r.Join || s.Join
	}
	return r
}
