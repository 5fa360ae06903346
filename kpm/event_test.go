package kpm

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

// eventMsg builds an event as the kernel sends it.
func eventMsg(t testing.TB, typ EventType, fn func(ae *netlink.AttributeEncoder)) genetlink.Message {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	fn(ae)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return genetlink.Message{Header: genetlink.Header{Command: uint8(typ), Version: 1}, Data: b}
}

func TestParseEventSubflow(t *testing.T) {
	m := eventMsg(t, EventSubEstablished, func(ae *netlink.AttributeEncoder) {
		ae.Uint32(evAttrToken, 0x1d7b2c3a)
		ae.Uint16(evAttrFamily, afInet)
		ae.Uint8(evAttrLocID, 2)
		ae.Uint8(evAttrRemID, 1)
		ae.Bytes(evAttrSaddr4, []byte{10, 0, 0, 2})
		ae.Bytes(evAttrDaddr4, []byte{10, 0, 0, 1})
		ae.Bytes(evAttrSport, be16(40001))
		ae.Bytes(evAttrDport, be16(7000))
		ae.Uint8(evAttrBackup, 1)
		ae.Int32(evAttrIfIdx, 3)
		ae.Uint32(99, 7) // from a newer kernel: ignored
	})
	e, err := ParseEvent(m)
	if err != nil {
		t.Fatal(err)
	}
	if e.Local() != netip.MustParseAddrPort("10.0.0.2:40001") || e.Remote() != netip.MustParseAddrPort("10.0.0.1:7000") {
		t.Errorf("addresses %v -> %v", e.Local(), e.Remote())
	}
	if !e.Backup || e.IfIndex != 3 || e.LocalID != 2 || e.RemoteID != 1 || e.Has(AttrError) || !e.Has(AttrBackup) {
		t.Errorf("event %+v", e)
	}
	want := "[  SF_ESTABLISHED] token=1d7b2c3a remid=1 locid=2 saddr4=10.0.0.2 daddr4=10.0.0.1 sport=40001 dport=7000 backup=1 ifindex=3"
	if got := e.String(); got != want {
		t.Errorf("String:\n got %s\nwant %s", got, want)
	}
	j, err := e.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := `{"type":"sf_established","token":"1d7b2c3a","family":"inet","remid":1,"locid":2,"saddr":"10.0.0.2","daddr":"10.0.0.1","sport":40001,"dport":7000,"backup":true,"ifindex":3}`
	if string(j) != wantJSON {
		t.Errorf("JSON:\n got %s\nwant %s", j, wantJSON)
	}
}

func TestParseEventAnnouncedIPv6AndServerSide(t *testing.T) {
	m := eventMsg(t, EventAnnounced, func(ae *netlink.AttributeEncoder) {
		ae.Uint32(evAttrToken, 1)
		ae.Uint8(evAttrRemID, 5)
		ae.Uint16(evAttrFamily, afInet6)
		a := netip.MustParseAddr("2001:db8::7").As16()
		ae.Bytes(evAttrDaddr6, a[:])
		ae.Bytes(evAttrDport, be16(443))
	})
	e, err := ParseEvent(m)
	if err != nil {
		t.Fatal(err)
	}
	want := "[       ANNOUNCED] token=00000001 remid=5 daddr6=2001:db8::7 dport=443"
	if got := e.String(); got != want {
		t.Errorf("String:\n got %s\nwant %s", got, want)
	}
	m = eventMsg(t, EventCreated, func(ae *netlink.AttributeEncoder) {
		ae.Uint32(evAttrToken, 1)
		ae.Uint16(evAttrFlags, evFlagServerSide)
	})
	if e, err := ParseEvent(m); err != nil || !e.ServerSide || !e.Has(AttrServerSide) {
		t.Errorf("server side from flags: %+v, %v", e, err)
	}
	m = eventMsg(t, EventCreated, func(ae *netlink.AttributeEncoder) { ae.Uint8(evAttrServerSide, 1) })
	if e, err := ParseEvent(m); err != nil || !e.ServerSide {
		t.Errorf("server side attribute: %+v, %v", e, err)
	}
}

func TestParseEventMalformed(t *testing.T) {
	for name, m := range map[string]genetlink.Message{
		"short address": eventMsg(t, EventCreated, func(ae *netlink.AttributeEncoder) { ae.Bytes(evAttrSaddr4, []byte{10, 0, 0}) }),
		"long port":     eventMsg(t, EventCreated, func(ae *netlink.AttributeEncoder) { ae.Bytes(evAttrSport, []byte{1, 2, 3}) }),
		"short token":   eventMsg(t, EventCreated, func(ae *netlink.AttributeEncoder) { ae.Uint16(evAttrToken, 1) }),
		"truncated":     {Header: genetlink.Header{Command: 1}, Data: []byte{8, 0, 1}},
		"bad length":    {Header: genetlink.Header{Command: 1}, Data: []byte{200, 0, 1, 0, 0, 0, 0, 0}},
	} {
		if e, err := ParseEvent(m); err == nil {
			t.Errorf("%s: parsed as %v", name, e)
		}
	}
	if got := (Event{Type: 99}).String(); got != "[UNKNOWN 99]" {
		t.Errorf("unknown type: %q", got)
	}
}

func FuzzParseEvent(f *testing.F) {
	f.Add(uint8(10), []byte{8, 0, 1, 0, 1, 2, 3, 4, 8, 0, 5, 0, 10, 0, 0, 2})
	f.Add(uint8(6), []byte{20, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, cmd uint8, data []byte) {
		e, err := ParseEvent(genetlink.Message{Header: genetlink.Header{Command: cmd}, Data: data})
		if err != nil {
			return
		}
		if !strings.HasPrefix(e.String(), "[") {
			t.Fatalf("String = %q", e.String())
		}
		if _, err := e.MarshalJSON(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestEndpointCodecRoundTrip(t *testing.T) {
	for _, e := range []Endpoint{
		{ID: 3, Addr: netip.MustParseAddr("10.0.0.1"), Port: 8080, Flags: FlagSignal | FlagBackup, IfIndex: 4},
		{ID: 200, Addr: netip.MustParseAddr("2001:db8::1"), Flags: FlagSubflow | FlagFullmesh | FlagLaminar},
		{ID: 1, Addr: netip.MustParseAddr("::ffff:10.0.0.9")}, // mapped: sent as IPv4
	} {
		ae := netlink.NewAttributeEncoder()
		encodeAddr(ae, attrAddr, e, 0)
		b, err := ae.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeEndpointMessage(genetlink.Message{Data: b})
		if err != nil {
			t.Fatal(err)
		}
		want := e
		want.Addr = e.Addr.Unmap()
		if got != want {
			t.Errorf("round trip: got %+v, want %+v", got, want)
		}
	}
	// A reply without the nested address is an error, not a zero endpoint.
	if _, err := decodeEndpointMessage(genetlink.Message{}); !errors.Is(err, errShortReply) {
		t.Errorf("empty reply: %v", err)
	}
}

func TestFlags(t *testing.T) {
	f := FlagSubflow | FlagBackup | FlagLaminar | 1<<9
	if got, want := f.String(), "subflow backup laminar rawflags 200"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	for _, n := range []string{"signal", "subflow", "backup", "fullmesh", "implicit", "laminar"} {
		fl, err := ParseFlag(n)
		if err != nil || fl.String() != n {
			t.Errorf("ParseFlag(%q) = %v, %v", n, fl, err)
		}
	}
	if _, err := ParseFlag("nosuch"); err == nil {
		t.Error("ParseFlag accepted an unknown name")
	}
}
