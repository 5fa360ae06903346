package kpm

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/genetlink/genltest"
	"github.com/mdlayher/netlink"
	"syscall"
)

var testFamily = genetlink.Family{
	ID: 0x20, Version: 1, Name: familyName,
	Groups: []genetlink.MulticastGroup{{ID: 5, Name: eventGroupName}},
}

func TestDialWithoutMPTCP(t *testing.T) {
	c := genltest.Dial(func(genetlink.Message, netlink.Message) ([]genetlink.Message, error) {
		return nil, genltest.Error(int(syscall.ENOENT))
	})
	if _, err := newConn(c); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("err = %v, want ErrNotSupported", err)
	}
}

func TestAddEndpointRequest(t *testing.T) {
	var got Endpoint
	var gotCmd uint8
	var gotFlags netlink.HeaderFlags
	fn := func(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
		gotCmd, gotFlags = greq.Header.Command, nreq.Header.Flags
		var err error
		got, err = decodeEndpointMessage(greq)
		return []genetlink.Message{{Header: greq.Header}}, err
	}
	conn, err := newConn(genltest.Dial(genltest.ServeFamily(testFamily, fn)))
	if err != nil {
		t.Fatal(err)
	}
	want := Endpoint{ID: 7, Addr: netip.MustParseAddr("192.0.2.1"), Port: 9000, Flags: FlagSignal, IfIndex: 2}
	if err := conn.AddEndpoint(want); err != nil {
		t.Fatal(err)
	}
	if got != want || gotCmd != cmdAddAddr || gotFlags&netlink.Acknowledge == 0 {
		t.Errorf("kernel received command %d flags %v endpoint %+v, want command %d with ack, %+v", gotCmd, gotFlags, got, cmdAddAddr, want)
	}
}

func TestLimitsReply(t *testing.T) {
	fn := func(greq genetlink.Message, _ netlink.Message) ([]genetlink.Message, error) {
		ae := netlink.NewAttributeEncoder()
		ae.Uint32(attrRcvAddAddrs, 3)
		ae.Uint32(attrSubflows, 4)
		b, _ := ae.Encode()
		return []genetlink.Message{{Header: greq.Header, Data: b}}, nil
	}
	conn, err := newConn(genltest.Dial(genltest.ServeFamily(testFamily, fn)))
	if err != nil {
		t.Fatal(err)
	}
	l, err := conn.Limits()
	if err != nil || l != (Limits{AddAddrAccepted: 3, Subflows: 4}) {
		t.Fatalf("Limits = %+v, %v", l, err)
	}
}

func TestKernelErrorText(t *testing.T) {
	err := opError("set limits", &netlink.OpError{Op: "receive", Err: syscall.EINVAL, Message: "limit greater than maximum (8)"})
	if got, want := err.Error(), "set limits: kernel: limit greater than maximum (8) (invalid argument)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !errors.Is(err, syscall.EINVAL) {
		t.Error("errno not unwrapped")
	}
	err = opError("add endpoint", &netlink.OpError{Op: "receive", Err: syscall.EPERM})
	if !errors.Is(err, ErrPermission) {
		t.Errorf("EPERM is not ErrPermission: %v", err)
	}
	if got, want := err.Error(), "add endpoint: "+ErrPermission.Error(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
