package drill

import (
	"net/netip"

	"github.com/mptcp-go/mptcp/wire"
)

// flow is one TCP connection (an MPTCP subflow) between the stack and the
// script.
type flow struct {
	local, remote netip.AddrPort
	localISN      uint32
	haveISN       bool
	synOut        bool   // the stack sent a SYN and no SYN/ACK came yet
	lastTSVal     uint32 // the stack's latest TS value, echoed in injected packets
	localNonce    uint32 // MP_JOIN nonces
	remoteNonce   uint32
	remoteID      uint8 // the script side's address ID in MP_JOIN
}

// mpState holds the flows and the MPTCP variables of a run: keys bound by
// value in the script (ckey=2) or from the packets the stack sends, and
// addresses.
type mpState struct {
	local, remote netip.Addr
	flows         []*flow
	cur           *flow
	nextPort      uint16

	keys  map[string]uint64
	addrs map[string]netip.Addr
	// remoteAddrs are the script side's addresses in the order they came
	// up; an address's index is its address ID.
	remoteAddrs []netip.Addr

	localKey, remoteKey   uint64
	haveLocal, haveRemote bool
	checksum              bool // DSS checksums in use (flag A)
}

func (m *mpState) init(local, remote netip.Addr) {
	m.local, m.remote = local, remote
	m.keys, m.addrs = map[string]uint64{}, map[string]netip.Addr{}
	m.remoteAddrs = []netip.Addr{remote}
	m.nextPort = firstRemotePort
}

func (m *mpState) localIDSN() uint64  { return wire.KeyIDSN(m.localKey) }
func (m *mpState) remoteIDSN() uint64 { return wire.KeyIDSN(m.remoteKey) }

// findFlow returns the flow of a 4-tuple seen from the stack.
func (m *mpState) findFlow(local, remote netip.AddrPort) *flow {
	for i := len(m.flows) - 1; i >= 0; i-- {
		if f := m.flows[i]; f.local == local && f.remote == remote {
			return f
		}
	}
	return nil
}

func (m *mpState) newFlow(local, remote netip.AddrPort) *flow {
	f := &flow{local: local, remote: remote}
	m.flows = append(m.flows, f)
	return f
}

// remoteAddr returns a script-side address for a variable, allocating the
// next one (packetdrill's remote address plus one, two ...) when the
// variable is new.
func (m *mpState) remoteAddr(name string) netip.Addr {
	if a, ok := m.addrs[name]; ok {
		return a
	}
	a := m.remote
	if len(m.flows) > 0 || len(m.addrs) > 0 {
		a = m.remoteAddrs[len(m.remoteAddrs)-1].Next()
		m.remoteAddrs = append(m.remoteAddrs, a)
	}
	m.addrs[name] = a
	return a
}

// remoteID returns the address ID of a script-side address.
func (m *mpState) remoteID(a netip.Addr) uint8 {
	for i, x := range m.remoteAddrs {
		if x == a {
			return uint8(i)
		}
	}
	m.remoteAddrs = append(m.remoteAddrs, a)
	return uint8(len(m.remoteAddrs) - 1)
}

// bindKey gives a key variable a value, checking it against an earlier one.
func (m *mpState) bindKey(k KeyVar) error {
	if k.Val == nil {
		return nil
	}
	if old, ok := m.keys[k.Name]; ok && old != *k.Val {
		return scriptErrorf("key %s is %#x, script says %#x", k.Name, old, *k.Val)
	}
	m.keys[k.Name] = *k.Val
	return nil
}

// key returns a key variable's value for an injected packet.
func (m *mpState) key(k KeyVar) (uint64, error) {
	if err := m.bindKey(k); err != nil {
		return 0, err
	}
	v, ok := m.keys[k.Name]
	if !ok {
		return 0, scriptErrorf("key %s has no value yet", k.Name)
	}
	return v, nil
}

func (m *mpState) setRemoteKey(k uint64) {
	if !m.haveRemote {
		m.remoteKey, m.haveRemote = k, true
	}
}

func (m *mpState) setLocalKey(k uint64) {
	if !m.haveLocal {
		m.localKey, m.haveLocal = k, true
	}
}

// token resolves an MP_JOIN token for an injected SYN.
func (m *mpState) token(t *TokenSpec) (uint32, error) {
	switch {
	case t == nil || t.Auto:
		if !m.haveLocal {
			return 0, scriptErrorf("token=auto before the stack's key is known")
		}
		return wire.KeyToken(m.localKey), nil
	case t.Lit != nil:
		return *t.Lit, nil
	}
	k, ok := m.keys[t.Var]
	if !ok {
		return 0, scriptErrorf("token of %s: the key has no value yet", t.Var)
	}
	return wire.KeyToken(k), nil
}
