package core

import "github.com/mptcp-go/mptcp/tcp"

// sockOpts are the per-connection socket options an application set
// (keepalive, Nagle); every subflow, present and future, takes them.
type sockOpts struct {
	set       bool // the application chose them; else each subflow keeps its defaults
	keepAlive tcp.KeepAlive
	nagle     bool
}

// SetKeepAlive sets keepalive probing on every subflow of the connection,
// and on those it opens or accepts later (zero Idle turns it off).
func (c *Conn) SetKeepAlive(ka tcp.KeepAlive) {
	c.sockOpts.set = true
	c.sockOpts.keepAlive = ka
	c.applySockOpts()
}

// SetNagle turns the Nagle algorithm on or off on every subflow, present
// and future.
func (c *Conn) SetNagle(on bool) {
	c.sockOpts.set = true
	c.sockOpts.nagle = on
	c.applySockOpts()
}

// applySockOpts hands the application's options to every subflow.
func (c *Conn) applySockOpts() {
	for _, sf := range c.subflows {
		sf.applySockOpts()
	}
}

// applySockOpts hands the connection's socket options to the subflow's
// TCP connection, if the application set any.
func (sf *subflow) applySockOpts() {
	o := &sf.conn.sockOpts
	if !o.set || sf.tc == nil {
		return
	}
	sf.tc.SetKeepAlive(o.keepAlive)
	sf.tc.SetNagle(o.nagle)
}
