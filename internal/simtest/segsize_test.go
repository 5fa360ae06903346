package simtest

import (
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/core"
)

// TestFullSizedSegments: a bulk download over two paths with a coupled
// congestion control goes out in full-sized segments. The scheduler sizes
// each record (one DSS mapping, never sharing a segment) to a subflow's
// room; a coupled controller's window grows by fractions of a segment, and
// room counted to the byte made every other segment a runt: more packets
// and headers for the same data, and an unfair edge at a queue counted in
// bytes, where a runt fits when a full segment is dropped.
//
// With a request first (as a web client sends), the client's first data
// goes out before the connection is fully established, with an 8-octet
// DSN, and the server answers with 8-octet DATA_ACKs (as Linux does): a
// DSS 4 bytes longer than the one the engine kept room for cut every
// segment 4 bytes short and ended each record in a runt of the difference
// (10 full segments and one of 40 bytes).
func TestFullSizedSegments(t *testing.T) {
	for _, tc := range []struct {
		cc      string
		request int
	}{{"lia", 0}, {"cubic", 0}, {"cubic", 8}} {
		name := tc.cc
		if tc.request > 0 {
			name += "/after-request"
		}
		t.Run(name, func(t *testing.T) {
			ccName := tc.cc
			setCC := func(c *core.Config) { c.CongestionControl = ccName }
			n, err := NewNet(7, []Path{{Rate: 20e6, Delay: 10 * time.Millisecond}, {Rate: 20e6, Delay: 10 * time.Millisecond}},
				Options{Client: setCC, Server: setCC})
			if err != nil {
				t.Fatal(err)
			}
			const down = 16 << 20
			transferOK(t, n, tc.request, down, core.ConnOptions{}, 60*time.Second)
			st := n.Server.Stats()
			// The server sends the data and little else: a full segment
			// is some 1500 bytes of IP packet, a runt much less.
			mean := float64(st.SentBytes) / float64(st.Sent)
			t.Logf("server sent %d packets, %d bytes: %.0f bytes per packet", st.Sent, st.SentBytes, mean)
			if mean < 1400 {
				t.Errorf("server's packets average %.0f bytes, want full-sized segments (> 1400)", mean)
			}
		})
	}
}
