package scan

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mptcp-go/mptcp/wire"
)

func hopAt(ttl int, cov wire.QuoteCoverage, changes ...Change) Hop {
	return Hop{TTL: ttl, Kind: HopTimeExceeded, From: netip.AddrFrom4([4]byte{10, 0, byte(ttl), 1}),
		Quote: &QuoteReport{Coverage: cov, Changes: changes}}
}

func TestLocalize(t *testing.T) {
	removed := Change{Kind: ChangeMPTCPRemoved, Option: "MPTCP"}
	seq := Change{Kind: ChangeSeq, Sent: "1", Seen: "2"}
	full, eight := wire.CoverageFullHeader, wire.CoverageSeq
	dest := func(ttl int, v Verdict) Hop {
		return Hop{TTL: ttl, Kind: HopDestination, Answer: &Answer{Verdict: v}}
	}
	for _, c := range []struct {
		name     string
		hops     []Hop
		findings []Finding
		note     string
	}{
		{"clean", []Hop{hopAt(1, full), hopAt(2, full), dest(3, VerdictMPTCPv1)}, nil, ""},
		{"stripped after hop 1", []Hop{hopAt(1, full), hopAt(2, full, removed), hopAt(3, full, removed), dest(4, VerdictTCPOnly)},
			[]Finding{{Change: removed, Hop: 2, After: 1}}, ""},
		{"stripped by the first box", []Hop{hopAt(1, full, removed), dest(2, VerdictTCPOnly)},
			[]Finding{{Change: removed, Hop: 1, After: 0}}, ""},
		// A hop that quotes 8 bytes cannot see options but can see the
		// sequence number.
		{"blind hop in between", []Hop{hopAt(1, full), hopAt(2, eight, seq), {TTL: 3, Kind: HopSilent},
			hopAt(4, full, seq, removed), dest(5, VerdictTCPOnly)},
			[]Finding{{Change: seq, Hop: 2, After: 1}, {Change: removed, Hop: 4, After: 1, Blind: []int{2, 3}}}, ""},
		{"stripped after the last quote", []Hop{hopAt(1, full), hopAt(2, full), dest(3, VerdictTCPOnly)}, nil,
			"MP_CAPABLE was intact at hop 2 (10.0.2.1), the last hop that quoted the whole header"},
		{"only short quotes", []Hop{hopAt(1, eight), dest(2, VerdictTCPOnly)}, nil, "no hop quoted the whole TCP header"},
		{"no destination", []Hop{hopAt(1, full), {TTL: 2, Kind: HopSilent}}, nil, "did not answer"},
		{"unreachable", []Hop{hopAt(1, full), {TTL: 2, Kind: HopUnreachable, From: them4, ICMP: "ICMP unreachable (host prohibited)",
			Quote: &QuoteReport{Coverage: full}}}, nil, "the path ended at hop 2 (198.51.100.7) with ICMP unreachable (host prohibited)"},
		{"different paths", []Hop{hopAt(1, full, removed), dest(2, VerdictMPTCPv1)},
			[]Finding{{Change: removed, Hop: 1, After: 0}}, "different paths"},
	} {
		r := PathResult{Hops: c.hops}
		if last := c.hops[len(c.hops)-1]; last.Kind == HopDestination {
			r.Final = last.Answer
		}
		Localize(&r)
		if d := cmp.Diff(c.findings, r.Findings); d != "" {
			t.Errorf("%s: findings (-want +got):\n%s", c.name, d)
		}
		if (c.note == "") != (len(r.Notes) == 0) || (c.note != "" && !strings.Contains(r.Notes[0], c.note)) {
			t.Errorf("%s: notes %q, want one containing %q", c.name, r.Notes, c.note)
		}
	}
}

func TestPathDescribeAndJSON(t *testing.T) {
	removed := Change{Kind: ChangeMPTCPRemoved, Option: "MPTCP", Sent: "MP_CAPABLE v1 flags H", Note: "replaced by NOPs"}
	r := PathResult{Target: Target{them4, 443}, Hops: []Hop{
		hopAt(1, wire.CoverageFullHeader), hopAt(2, wire.CoverageSeq), hopAt(3, wire.CoverageFullHeader, removed),
		{TTL: 4, Kind: HopDestination, From: them4, Answer: &Answer{Verdict: VerdictTCPOnly, Reason: "SYN/ACK without MP_CAPABLE"}, RTT: time.Millisecond},
	}}
	r.Final = r.Hops[3].Answer
	Localize(&r)
	if got, want := r.Describe(r.Findings[0]), "MP_CAPABLE removed (replaced by NOPs): between hop 1 (10.0.1.1) and hop 3 (10.0.3.1) (hops [2] in between could not tell)"; got != want {
		t.Errorf("%q\nwant %q", got, want)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Reached  bool
		Verdict  string
		Hops     []map[string]any
		Findings []struct {
			Change Change
			Hop    int
			After  int
			Blind  []int
		}
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Reached || back.Verdict != "tcp-only" || len(back.Hops) != 4 || len(back.Findings) != 1 ||
		back.Findings[0].Change != removed || back.Findings[0].Hop != 3 || back.Hops[1]["quote"].(map[string]any)["coverage"] != "ports+seq" ||
		back.Hops[3]["verdict"] != "tcp-only" || back.Hops[3]["rtt_ms"] != 1.0 {
		t.Errorf("JSON round trip lost something: %s", b)
	}
}

func TestPacer(t *testing.T) {
	p := newPacer(100) // 10 ms apart
	t0 := time.Unix(1000, 0)
	got := []time.Duration{
		p.reserve(t0).Sub(t0),
		p.reserve(t0).Sub(t0),
		p.reserve(t0.Add(5 * time.Millisecond)).Sub(t0),
		p.reserve(t0.Add(time.Second)).Sub(t0), // idle: no burst is saved up
		p.reserve(t0.Add(time.Second)).Sub(t0),
	}
	want := []time.Duration{0, 10 * time.Millisecond, 20 * time.Millisecond, time.Second, time.Second + 10*time.Millisecond}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if newPacer(0) != nil {
		t.Error("rate 0 should mean no pacer")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := newPacer(0.001).wait(ctx); err == nil {
		t.Error("wait on a cancelled context returned nil")
	}
}

func TestRunOrdered(t *testing.T) {
	const n = 50
	var running, peak atomic.Int32
	var got []int
	err := runOrdered(context.Background(), n, 4, func(i int) int {
		cur := running.Add(1)
		for {
			p := peak.Load()
			if cur <= p || peak.CompareAndSwap(p, cur) {
				break
			}
		}
		// Later indexes finish first, so emission must wait for order.
		time.Sleep(time.Duration(n-i) * 50 * time.Microsecond)
		running.Add(-1)
		return i * i
	}, func(i, v int) {
		if v != i*i {
			t.Errorf("emit(%d, %d)", i, v)
		}
		got = append(got, i)
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("emitted out of order: %v", got)
		}
	}
	if len(got) != n || peak.Load() > 4 {
		t.Errorf("%d emitted, peak concurrency %d (limit 4)", len(got), peak.Load())
	}
}
