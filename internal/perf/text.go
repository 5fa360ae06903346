package perf

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// printer writes a test's progress as text, in iperf3's layout: a line
// per stream and interval, indented lines per subflow, then the summary.
type printer struct {
	w   io.Writer
	rep *Report
}

func newPrinter(w io.Writer, rep *Report) *printer { return &printer{w: w, rep: rep} }

func (p *printer) printf(format string, args ...any) {
	if p.w != nil {
		fmt.Fprintf(p.w, format, args...)
	}
}

func (p *printer) header(peer string) {
	if p.w == nil {
		return
	}
	r := p.rep
	what := "sending"
	if !r.Sender {
		what = "receiving"
	}
	amount := "for " + r.Params.Duration.String()
	if r.Params.Bytes > 0 {
		amount = FormatBytes(r.Params.Bytes)
	}
	if r.Role == "client" {
		p.printf("Connecting to %s: %s %s, %d stream(s)%s\n", peer, what, amount, r.Params.Streams, verifyNote(r.Params))
	} else {
		p.printf("Accepted test from %s: %s %s, %d stream(s)%s\n", peer, what, amount, r.Params.Streams, verifyNote(r.Params))
	}
	for _, s := range r.Streams {
		p.printf("[%3d] local %s connected to %s: %s\n", s.Stream+1, s.Local, s.Remote, describeConn(s.Conn))
	}
	p.printf("[ ID] Interval           Transfer     Bitrate\n")
}

func verifyNote(pr Params) string {
	if pr.Verify {
		return ", verified"
	}
	return ""
}

// describeConn says what kind of connection it is.
func describeConn(cs ConnStats) string {
	var b strings.Builder
	switch {
	case cs.MPTCP:
		b.WriteString("MPTCP")
	case cs.FellBack:
		b.WriteString("TCP (MPTCP fell back)")
	default:
		b.WriteString("TCP")
	}
	switch cs.Stack {
	case "user":
		b.WriteString(", user-space stack")
	case "kernel":
		b.WriteString(", kernel")
	}
	if cs.Subflows != nil && cs.MPTCP {
		fmt.Fprintf(&b, ", %d subflow(s)", len(cs.Subflows))
	}
	return b.String()
}

func (p *printer) interval(iv Interval) {
	if p.w == nil {
		return
	}
	span := fmt.Sprintf("%6.2f-%-6.2f sec", iv.Start, iv.End)
	for _, s := range iv.Streams {
		p.printf("[%3d] %s  %s  %s\n", s.Stream+1, span, padBytes(s.Bytes), FormatBits(s.BitsPerSecond))
		for _, sf := range s.Subflows {
			// A receiver's window and retransmissions say nothing of the
			// transfer: only the sender's are shown.
			state := "rtt " + formatRTT(sf.SRTT)
			if p.rep.Sender {
				state += fmt.Sprintf("  cwnd %s  retr %d", FormatBytes(int64(sf.Cwnd)), sf.Retransmits)
			}
			p.printf("        %s  %s  %s  %s%s\n",
				subflowName(sf.Local, sf.Remote), padBytes(int64(sf.Bytes)), FormatBits(sf.BitsPerSecond), state, backupNote(sf.Backup))
		}
	}
	if len(iv.Streams) > 1 {
		p.printf("[SUM] %s  %s  %s\n", span, padBytes(iv.Bytes), FormatBits(iv.BitsPerSecond))
	}
}

func backupNote(b bool) string {
	if b {
		return "  backup"
	}
	return ""
}

func subflowName(local, remote string) string {
	return fmt.Sprintf("%21s > %-21s", local, remote)
}

func (p *printer) summary() {
	if p.w == nil {
		return
	}
	r := p.rep
	p.printf("- - - - - - - - - - - - - - - - - - - - - - - - -\n")
	p.printf("[ ID] Interval           Transfer     Bitrate\n")
	snd, rcv := r.sides()
	line := func(res *SideResult, role string) {
		if res == nil {
			p.printf("[SUM] (no %s result)\n", role)
			return
		}
		for _, s := range res.Streams {
			note := role
			if s.Error != "" {
				note += "  error: " + s.Error
			}
			if len(res.Streams) > 1 || s.Error != "" {
				p.printf("[%3d] %6.2f-%-6.2f sec  %s  %s  %s\n", s.Stream+1, 0.0, s.Seconds,
					padBytes(s.Bytes), FormatBits(rate(s.Bytes, s.Seconds)), note)
			}
		}
		id := "[SUM]"
		if len(res.Streams) == 1 {
			id = "[  1]"
		}
		note := role
		if res.Verified {
			note += "  (every byte verified)"
		}
		p.printf("%s %6.2f-%-6.2f sec  %s  %s  %s\n", id, 0.0, res.Seconds, padBytes(res.Bytes),
			FormatBits(rate(res.Bytes, res.Seconds)), note)
	}
	line(snd, "sender")
	line(rcv, "receiver")
	for _, side := range []struct {
		name string
		res  *SideResult
	}{{"this side (" + r.Role + ")", r.Local}, {"peer", r.Remote}} {
		if side.res == nil {
			continue
		}
		for _, s := range side.res.Streams {
			if len(s.Final.Subflows) == 0 {
				continue
			}
			p.printf("Subflows of stream %d, %s: %s\n", s.Stream+1, side.name, describeConn(s.Final))
			for _, sf := range s.Final.Subflows {
				p.printf("        %s  sent %s  received %s  rtt %s  retr %d%s\n", subflowName(sf.Local, sf.Remote),
					padBytes(int64(sf.BytesSent)), padBytes(int64(sf.BytesReceived)), formatRTT(sf.SRTT), sf.Retransmits, backupNote(sf.Backup))
			}
		}
	}
	switch {
	case r.Summary.Complete && r.Summary.Verified:
		p.printf("Complete: every byte sent was received and verified.\n")
	case r.Summary.Complete:
		p.printf("Complete: every byte sent was received (not verified).\n")
	default:
		p.printf("INCOMPLETE: the test failed or the byte counts differ.\n")
	}
}

// FormatBytes writes a byte count as iperf3 does, in binary units.
func FormatBytes(n int64) string {
	f := float64(n)
	for _, u := range []string{"Bytes", "KBytes", "MBytes", "GBytes", "TBytes"} {
		if f < 1024 || u == "TBytes" {
			if u == "Bytes" {
				return fmt.Sprintf("%d %s", n, u)
			}
			return fmt.Sprintf("%s %s", sig3(f), u)
		}
		f /= 1024
	}
	return ""
}

// sig3 writes v with three significant digits, as iperf3 does (9.41,
// 94.1, 941), keeping trailing zeros.
func sig3(v float64) string {
	switch {
	case v >= 99.95:
		return fmt.Sprintf("%.0f", v)
	case v >= 9.995:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func padBytes(n int64) string { return fmt.Sprintf("%12s", FormatBytes(n)) }

// FormatBits writes a rate as iperf3 does, in decimal units.
func FormatBits(bps float64) string {
	for _, u := range []string{"bits/sec", "Kbits/sec", "Mbits/sec", "Gbits/sec"} {
		if bps < 1000 || u == "Gbits/sec" {
			return fmt.Sprintf("%4s %s", sig3(bps), u)
		}
		bps /= 1000
	}
	return ""
}

func formatRTT(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%dus", d.Microseconds())
	default:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
}
