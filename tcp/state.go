package tcp

// State is a connection state of RFC 9293 section 3.3.2.
type State uint8

// The connection states. LISTEN belongs to a Listener, never to a Conn.
const (
	StateClosed State = iota
	StateListen
	StateSynSent
	StateSynReceived
	StateEstablished
	StateFinWait1
	StateFinWait2
	StateCloseWait
	StateClosing
	StateLastAck
	StateTimeWait
)

var stateNames = [...]string{
	StateClosed:      "CLOSED",
	StateListen:      "LISTEN",
	StateSynSent:     "SYN-SENT",
	StateSynReceived: "SYN-RECEIVED",
	StateEstablished: "ESTABLISHED",
	StateFinWait1:    "FIN-WAIT-1",
	StateFinWait2:    "FIN-WAIT-2",
	StateCloseWait:   "CLOSE-WAIT",
	StateClosing:     "CLOSING",
	StateLastAck:     "LAST-ACK",
	StateTimeWait:    "TIME-WAIT",
}

// String returns the state's name as RFC 9293 spells it.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "UNKNOWN"
}

// synchronized reports whether the state is one where both sides' initial
// sequence numbers are known (RFC 9293 section 3.5.2's "synchronized").
func (s State) synchronized() bool {
	return s >= StateEstablished
}

// sendOpen reports whether the application may still queue data.
func (s State) sendOpen() bool {
	switch s {
	case StateSynSent, StateSynReceived, StateEstablished, StateCloseWait:
		return true
	}
	return false
}

// finReceived reports whether the peer's FIN has been received in order.
func (s State) finReceived() bool {
	switch s {
	case StateCloseWait, StateClosing, StateLastAck, StateTimeWait:
		return true
	}
	return false
}
