package simtest

import (
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
)

func TestSinglePathTransfer(t *testing.T) {
	n, err := NewNet(1, []Path{{Rate: 20e6, Delay: 10 * time.Millisecond}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const up, down = 200 << 10, 1 << 20
	p, err := n.StartTransfer(up, down, core.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ok := n.RunUntilDone(p, 30*time.Second)
	t.Logf("client MIB:\n%v", n.CS.MIB())
	t.Logf("server MIB:\n%v", n.SS.MIB())
	if !ok {
		t.Logf("client info %+v", p.C.Conn.Info())
	}
	if err := p.Check(up, down); err != nil {
		t.Fatal(err)
	}
	if p.C.Conn.FellBack() {
		t.Fatal("connection fell back to TCP")
	}
}
