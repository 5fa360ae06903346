//go:build linux

package interop

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"
)

// TestJoinIntoClosedWindow: the kernel's client fills our server's
// receive buffer (the application does not read), then opens a second
// subflow, whose SYN/ACK carries the connection's closed window; the
// join must be established, and every byte read afterwards.
func TestJoinIntoClosedWindow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{side: ourServer, paths: 2})
	e.endpoint() // limits only, for now
	cs := e.connect(connOpts{})
	var sent []byte
	chunk := make([]byte, 64<<10)
	for i := 0; ; i++ {
		for j := range chunk {
			chunk[j] = byte(i*7 + j)
		}
		cs.kernel.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
		n, err := cs.kernel.Write(chunk)
		sent = append(sent, chunk[:n]...)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(sent) > 64<<20 {
			t.Fatal("the kernel's writes never blocked")
		}
	}
	cs.kernel.SetWriteDeadline(time.Time{})
	t.Logf("the kernel's client wrote %d bytes before blocking", len(sent))
	e.endpoint("subflow") // now the kernel joins the established connection
	waitSubflows(t, cs.ours, 2)
	logInfo(t, cs.ours)
	cs.kernel.CloseWrite()
	got, err := io.ReadAll(cs.ours)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, sent) {
		t.Fatalf("read %d bytes, the kernel wrote %d (equal prefix: %v)", len(got), len(sent), bytes.HasPrefix(sent, got))
	}
	e.checkKernel("MPJoinSynTx=1", "MPJoinSynAckRx=1")
	e.checkOurs("MPJoinSynRx=1", "MPJoinAckRx=1")
	cs.ours.Close()
	cs.kernel.Close()
	e.stop()
	// The case is the one it names only if the join's SYN/ACK showed
	// the closed window.
	if w, ok := e.wire(fmt.Sprintf("tcp.flags.syn == 1 && tcp.flags.ack == 1 && tcp.options.mptcp.subtype == %d", subMPJoin), "tcp.window_size_value"); ok {
		if len(w) != 1 || w[0] != "0" {
			t.Errorf("the join's SYN/ACK showed window %q, want one SYN/ACK with 0", w)
		}
	}
	e.finish()
}
