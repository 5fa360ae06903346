package drill

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/core"
)

// socket is a file descriptor of the script.
type socket struct {
	mptcp    bool
	nonblock bool
	bound    bool
	ln       *core.Listener
	conn     *core.Conn
}

// Linux values the scripts compare against.
const (
	oRDWR     = 0x2
	oNONBLOCK = 0x800
)

func argWord(a []token) string {
	if len(a) == 1 && a[0].kind == tokWord {
		return a[0].text
	}
	return ""
}

func argInt(a []token) (int64, bool) {
	switch {
	case len(a) == 1 && a[0].kind == tokInt:
		return int64(a[0].num), true
	case len(a) == 2 && a[0].is("-") && a[1].kind == tokInt:
		return -int64(a[1].num), true
	}
	return 0, false
}

// argWords returns the words of an OR expression: O_RDWR|O_NONBLOCK.
func argWords(a []token) map[string]bool {
	w := map[string]bool{}
	for _, t := range a {
		if t.kind == tokWord {
			w[t.text] = true
		}
	}
	return w
}

// syscall runs a system call statement on the stack.
func (r *runner) syscall(c *Call, at time.Time) error {
	if c.Name == "socket" {
		return r.sysSocket(c)
	}
	if len(c.Args) == 0 {
		return unsupported("system call %s without arguments", c.Name)
	}
	fd, ok := argInt(c.Args[0])
	if !ok {
		return scriptErrorf("%s: first argument is not a file descriptor", c.Name)
	}
	s := r.socks[int(fd)]
	if s == nil {
		return scriptErrorf("%s: no socket %d", c.Name, fd)
	}
	ret, errno, err := r.call(c, s, at)
	if err != nil {
		return err
	}
	if ret != c.Ret || errno != c.Errno {
		return failf("%s returned %d %s, expected %d %s", c.Name, ret, errno, c.Ret, c.Errno)
	}
	return nil
}

func (r *runner) sysSocket(c *Call) error {
	if len(c.Args) != 3 {
		return scriptErrorf("socket takes three arguments")
	}
	if t := argWord(c.Args[1]); t != "SOCK_STREAM" {
		return unsupported("socket type %q", t)
	}
	s := &socket{}
	switch argWord(c.Args[2]) {
	case "IPPROTO_MPTCP":
		s.mptcp = true
	case "IPPROTO_TCP", "":
	default:
		return unsupported("socket protocol %q", argWord(c.Args[2]))
	}
	if _, err := r.stack(); err != nil {
		return err
	}
	if c.Ret < 0 {
		return unsupported("a socket() that fails")
	}
	r.socks[int(c.Ret)] = s
	return nil
}

// call runs a system call on socket s and returns its result as Linux
// would: the return value and the errno name.
func (r *runner) call(c *Call, s *socket, at time.Time) (int64, string, error) {
	switch c.Name {
	case "setsockopt":
		return r.sysSetsockopt(c)
	case "getsockopt":
		return r.sysGetsockopt(c, s)
	case "fcntl":
		return r.sysFcntl(c, s)
	case "bind":
		s.bound = true
		return 0, "", nil
	case "listen":
		return r.sysListen(s)
	case "accept":
		return r.sysAccept(c, s, at)
	case "connect":
		return r.sysConnect(s)
	case "write", "send":
		return r.sysWrite(c, s)
	case "read", "recv":
		return r.sysRead(c, s, at)
	case "shutdown":
		return r.sysShutdown(c, s)
	case "close":
		return r.sysClose(s)
	}
	return 0, "", unsupported("system call %s", c.Name)
}

func (r *runner) sysSetsockopt(c *Call) (int64, string, error) {
	if len(c.Args) < 3 {
		return 0, "", scriptErrorf("setsockopt takes five arguments")
	}
	switch lvl, opt := argWord(c.Args[1]), argWord(c.Args[2]); {
	case lvl == "SOL_SOCKET" && opt == "SO_REUSEADDR":
		// Address reuse is what the stack does anyway: no TIME-WAIT
		// conflicts in a fresh virtual host.
		return 0, "", nil
	case (lvl == "SOL_TCP" || lvl == "IPPROTO_TCP") && opt == "TCP_NODELAY":
		return 0, "", nil // the stack's default
	default:
		return 0, "", unsupported("setsockopt %s %s", lvl, opt)
	}
}

func (r *runner) sysGetsockopt(c *Call, s *socket) (int64, string, error) {
	if len(c.Args) != 5 || argWord(c.Args[1]) != "SOL_SOCKET" || argWord(c.Args[2]) != "SO_ERROR" {
		return 0, "", unsupported("getsockopt %s", describeArgs(c.Args))
	}
	want := c.Args[3]
	got := int64(0)
	if s.conn != nil && s.conn.Err() != nil {
		got = int64(errnoNumber(s.conn.Err()))
	}
	if len(want) == 3 && want[0].is("[") && want[1].kind == tokInt && int64(want[1].num) != got {
		return 0, "", failf("getsockopt SO_ERROR gave [%d], expected [%d]", got, want[1].num)
	}
	return 0, "", nil
}

func describeArgs(a [][]token) string {
	s := ""
	for i, x := range a {
		if i > 0 {
			s += ", "
		}
		s += joinTokens(x)
	}
	return s
}

func (r *runner) sysFcntl(c *Call, s *socket) (int64, string, error) {
	if len(c.Args) < 2 {
		return 0, "", scriptErrorf("fcntl takes two or three arguments")
	}
	switch argWord(c.Args[1]) {
	case "F_GETFL":
		v := int64(oRDWR)
		if s.nonblock {
			v |= oNONBLOCK
		}
		return v, "", nil
	case "F_SETFL":
		if len(c.Args) != 3 {
			return 0, "", scriptErrorf("fcntl F_SETFL takes a flags argument")
		}
		s.nonblock = argWords(c.Args[2])["O_NONBLOCK"]
		return 0, "", nil
	}
	return 0, "", unsupported("fcntl %s", joinTokens(c.Args[1]))
}

func (r *runner) sysListen(s *socket) (int64, string, error) {
	st, err := r.stack()
	if err != nil {
		return 0, "", err
	}
	if !s.bound {
		return 0, "", unsupported("listen without bind")
	}
	// An unspecified address: joins to the host's other addresses reach
	// the listener too, as on Linux with packetdrill's bind.
	if !s.mptcp {
		return 0, "", unsupported("a listening plain TCP socket (the stack's listeners take MPTCP)")
	}
	unspec := netip.IPv4Unspecified()
	if r.cfg.Local.Is6() {
		unspec = netip.IPv6Unspecified()
	}
	l, err := st.Listen(netip.AddrPortFrom(unspec, serverPort))
	if err != nil {
		return -1, errnoName(err), nil
	}
	s.ln = l
	return 0, "", nil
}

func (r *runner) sysAccept(c *Call, s *socket, at time.Time) (int64, string, error) {
	if s.ln == nil {
		return -1, "EINVAL", nil
	}
	if !s.nonblock {
		r.waitFor(at, func() bool { return s.ln.Ready() > 0 })
	}
	conn, err := s.ln.Accept()
	if err != nil {
		return -1, errnoName(err), nil
	}
	if c.Ret >= 0 {
		r.socks[int(c.Ret)] = &socket{mptcp: s.mptcp, conn: conn}
	}
	return c.Ret, "", nil
}

func (r *runner) sysConnect(s *socket) (int64, string, error) {
	if !s.nonblock {
		return 0, "", unsupported("blocking connect (the script's SYN/ACK comes after the call returns)")
	}
	st, err := r.stack()
	if err != nil {
		return 0, "", err
	}
	conn, err := st.Dial(r.now, r.cfg.Local, netip.AddrPortFrom(r.cfg.Remote, serverPort), core.ConnOptions{DisableMPTCP: !s.mptcp})
	if err != nil {
		return -1, errnoName(err), nil
	}
	s.conn = conn
	r.poll()
	return -1, "EINPROGRESS", nil
}

func (r *runner) sysWrite(c *Call, s *socket) (int64, string, error) {
	n, err := sizeArg(c)
	if err != nil || s.conn == nil {
		return -1, "ENOTCONN", err
	}
	w, werr := s.conn.Write(make([]byte, n))
	r.poll()
	if werr != nil && w == 0 {
		return -1, errnoName(werr), nil
	}
	return int64(w), "", nil
}

func (r *runner) sysRead(c *Call, s *socket, at time.Time) (int64, string, error) {
	n, err := sizeArg(c)
	if err != nil || s.conn == nil {
		return -1, "ENOTCONN", err
	}
	if !s.nonblock {
		r.waitFor(at, func() bool { return s.conn.Readable() > 0 || s.conn.Err() != nil })
	}
	buf := make([]byte, n)
	got, rerr := s.conn.Read(buf)
	r.poll()
	switch {
	case got > 0:
		return int64(got), "", nil
	case errors.Is(rerr, core.ErrWouldBlock):
		return -1, "EAGAIN", nil
	case errors.Is(rerr, io.EOF):
		return 0, "", nil
	case rerr != nil:
		return -1, errnoName(rerr), nil
	}
	return 0, "", nil
}

// sizeArg returns the byte count of read/write(fd, ..., N).
func sizeArg(c *Call) (int, error) {
	if len(c.Args) < 3 {
		return 0, scriptErrorf("%s takes three arguments", c.Name)
	}
	n, ok := argInt(c.Args[2])
	if !ok || n < 0 {
		return 0, scriptErrorf("%s: bad length %s", c.Name, joinTokens(c.Args[2]))
	}
	return int(n), nil
}

func (r *runner) sysShutdown(c *Call, s *socket) (int64, string, error) {
	if len(c.Args) != 2 || argWord(c.Args[1]) != "SHUT_WR" {
		return 0, "", unsupported("shutdown %s", describeArgs(c.Args[1:]))
	}
	if s.conn == nil {
		return -1, "ENOTCONN", nil
	}
	err := s.conn.CloseWrite()
	r.poll()
	if err != nil {
		return -1, errnoName(err), nil
	}
	return 0, "", nil
}

func (r *runner) sysClose(s *socket) (int64, string, error) {
	switch {
	case s.conn != nil:
		s.conn.Close()
	case s.ln != nil:
		s.ln.Close()
	}
	for fd, x := range r.socks {
		if x == s {
			delete(r.socks, fd)
		}
	}
	r.poll()
	return 0, "", nil
}

// errnoName maps the stack's errors to Linux errno names.
func errnoName(err error) string {
	for _, e := range errnoTable {
		if errors.Is(err, e.err) {
			return e.name
		}
	}
	return fmt.Sprintf("E?(%v)", err)
}

func errnoNumber(err error) int {
	for _, e := range errnoTable {
		if errors.Is(err, e.err) {
			return e.num
		}
	}
	return 5 // EIO
}

var errnoTable = []struct {
	err  error
	name string
	num  int
}{
	{core.ErrWouldBlock, "EAGAIN", 11},
	{core.ErrConnectionRefused, "ECONNREFUSED", 111},
	{core.ErrConnectionReset, "ECONNRESET", 104},
	{core.ErrTimeout, "ETIMEDOUT", 110},
	{core.ErrConnectionAborted, "ECONNABORTED", 103},
	{core.ErrWriteClosed, "EPIPE", 32},
	{core.ErrClosed, "EBADF", 9},
	{core.ErrInvalid, "EINVAL", 22},
}
