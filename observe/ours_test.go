package observe_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/internal/simtest"
	"github.com/mptcp-go/mptcp/observe"
)

// TestSequenceNumbers: our mptcp line carries write_seq, snd_una and
// rcv_nxt as the kernel's does: after an upload the client has nothing
// unacknowledged (snd_una = write_seq) and the server expects next the
// client's write_seq.
func TestSequenceNumbers(t *testing.T) {
	n, err := simtest.NewNet(2, []simtest.Path{{Rate: 20e6, Delay: 5 * time.Millisecond}}, simtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n.ClientKeepsOpen, n.ServerKeepsOpen = true, true
	if _, err := n.StartTransfer(300<<10, 0, core.ConnOptions{}); err != nil {
		t.Fatal(err)
	}
	n.Sim.RunFor(2 * time.Second)
	cli, srv := observe.CoreSource(n.CS, &sync.Mutex{}).Conns(), observe.CoreSource(n.SS, &sync.Mutex{}).Conns()
	if len(cli) != 1 || len(srv) != 1 {
		t.Fatalf("%d client and %d server connections", len(cli), len(srv))
	}
	c, s := cli[0], srv[0]
	if c.WriteSeq == 0 || c.SndUna != c.WriteSeq || s.RcvNxt != c.WriteSeq {
		t.Errorf("client write_seq %x snd_una %x, server rcv_nxt %x", c.WriteSeq, c.SndUna, s.RcvNxt)
	}
	var b strings.Builder
	if err := observe.Format(&b, observe.SocketsOf(cli, observe.Limits{}, nil), observe.FormatOptions{Info: true}); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(" write_seq:%x snd_una:%x rcv_nxt:%x", c.WriteSeq, c.SndUna, c.RcvNxt); !strings.Contains(b.String(), want) {
		t.Errorf("listing lacks %q:\n%s", want, b.String())
	}
}
