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
func TestFullSizedSegments(t *testing.T) {
	for _, ccName := range []string{"lia", "cubic"} {
		t.Run(ccName, func(t *testing.T) {
			setCC := func(c *core.Config) { c.CongestionControl = ccName }
			n, err := NewNet(7, []Path{{Rate: 20e6, Delay: 10 * time.Millisecond}, {Rate: 20e6, Delay: 10 * time.Millisecond}},
				Options{Client: setCC, Server: setCC})
			if err != nil {
				t.Fatal(err)
			}
			const down = 16 << 20
			transferOK(t, n, 0, down, core.ConnOptions{}, 60*time.Second)
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
