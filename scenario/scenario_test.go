package scenario

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-go/mptcp/netsim"
)

func TestUnits(t *testing.T) {
	for in, want := range map[string]Rate{"20Mbit": 20e6, "1.5Gbit": 1.5e9, "500kbit": 5e5, "100Mbps": 1e8, "64000": 64000} {
		if got, err := ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "fast", "-1Mbit", "20Mbt", "1e400bit"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
	for in, want := range map[string]float64{"1%": 0.01, "0.05": 0.05, "0": 0, "100%": 1} {
		if got, err := ParseProbability(in); err != nil || got != want {
			t.Errorf("ParseProbability(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"101%", "-0.1", "x", "NaN"} {
		if _, err := ParseProbability(bad); err == nil {
			t.Errorf("ParseProbability(%q) accepted", bad)
		}
	}
	for in, want := range map[string]Queue{"100p": {Packets: 100}, "64KB": {Bytes: 64000}, "1.5bdp": {BDP: 1.5}, "1MiB": {Bytes: 1 << 20}} {
		if got, err := ParseQueue(in); err != nil || got != want {
			t.Errorf("ParseQueue(%q) = %+v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"0p", "p", "-3KB", "0bdp", "lots", "100", "1e5"} {
		if _, err := ParseQueue(bad); err == nil {
			t.Errorf("ParseQueue(%q) accepted", bad)
		}
	}
	if r := Rate(20e6).String(); r != "20Mbit" {
		t.Errorf("Rate.String = %q", r)
	}
}

func TestBuiltinsCompile(t *testing.T) {
	names := BuiltinNames()
	if len(names) < 2 {
		t.Fatalf("built-ins: %v", names)
	}
	for _, n := range names {
		s, err := Builtin(n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if s.Name != n {
			t.Errorf("built-in %s names itself %q", n, s.Name)
		}
	}
	if _, err := Builtin("nope"); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "handover") {
		t.Errorf("unknown built-in: %v", err)
	}
}

func TestHandoverScenario(t *testing.T) {
	s, err := Builtin("handover")
	if err != nil {
		t.Fatal(err)
	}
	wifi := s.Paths[0]
	if wifi.Link.Down.Rate != 20e6 || wifi.Link.Down.Delay != 10*time.Millisecond {
		t.Fatalf("wifi link %+v", wifi.Link.Down)
	}
	// 2 BDP of 20 Mbit/s over a 20 ms RTT is 100 kB.
	if wifi.Link.Down.QueueBytes != 100000 || wifi.Link.Up.QueueBytes != 100000 {
		t.Fatalf("wifi queue %d/%d bytes, want 100000", wifi.Link.Down.QueueBytes, wifi.Link.Up.QueueBytes)
	}
	if len(wifi.Events) != 2 || !wifi.Events[0].Down || wifi.Events[0].At != 10*time.Second || !wifi.Events[1].Up || wifi.Events[1].At != 15*time.Second {
		t.Fatalf("wifi events %+v", wifi.Events)
	}
	// 30 s: wifi up 25 s at 20 Mbit/s, cellular 30 s at 10 Mbit/s.
	want := int64(25*20e6+30*10e6) / 30
	if got := s.Capacity(Download); got < want-1000 || got > want+1000 {
		t.Fatalf("capacity %d, want about %d", got, want)
	}
}

func TestParseErrorsNameTheField(t *testing.T) {
	for name, c := range map[string]struct{ file, want string }{
		"bad rate":        {"paths:\n  - rate: 20Mbt\n", `paths[0].rate: "20Mbt" is not a rate`},
		"unknown field":   {"paths:\n  - rate: 1Mbit\n    colour: red\n", `line 3, column 5: paths[0].colour: unknown field`},
		"no paths":        {"duration: 1s\n", "paths: at least one path"},
		"bad outage":      {"paths:\n  - rate: 1Mbit\n    outages:\n      - at: 1s\n", "paths[0].outages[0].for: missing"},
		"bad direction":   {"paths:\n  - rate: 1Mbit\ntransfer:\n  direction: sideways\n", "transfer.direction"},
		"dup path":        {"paths:\n  - name: a\n  - name: a\n", `paths[1].name: "a" is used twice`},
		"bdp needs rate":  {"paths:\n  - queue: 1bdp\n", "paths[0].queue: a queue in BDPs needs a rate"},
		"empty change":    {"paths:\n  - rate: 1Mbit\n    changes:\n      - at: 1s\n", "paths[0].changes[0]: a change needs"},
		"up override":     {"paths:\n  - rate: 1Mbit\n    up:\n      loss: 2\n", `paths[0].up.loss: "2" is not a probability`},
		"type error":      {"paths: 3\n", "line 1, column 8: paths: want a list, not `3`"},
		"zero duration":   {"duration: 0s\npaths:\n  - rate: 1Mbit\n", "duration: must be positive"},
		"competitor name": {"paths:\n  - rate: 1Mbit\ncompetitors:\n  - name: server\n", `competitors[0].name: "server"`},
		// issue 19: yaml.v3's "EOF" for a file with nothing in it.
		"empty file":    {"", "the file holds no scenario (it is empty or only comments"},
		"only comments": {"# nothing\n\n", "the file holds no scenario"},
		// issue 19: a rate too high is out of range, not "not a rate".
		"huge rate":     {"paths:\n  - rate: 1e30bit\n", `paths[0].rate: "1e30bit" is out of range: a rate is 0 (unlimited) to 1000Gbit`},
		"negative rate": {"paths:\n  - rate: -1Mbit\n", `"-1Mbit" is out of range`},
		"huge size":     {"paths:\n  - rate: 1Mbit\ntransfer:\n  size: 1e20GB\n", `transfer.size: "1e20GB" is out of range: a size is 0 to 1 PiB`},
		// The line numbers yaml.v3 reports are those of the offending key
		// or value, counting comments and blank lines.
		"line after comments":  {"# c\n\nname: x\npaths:\n  - name: a\n    rate: 1Mbit\n    colour: red\n", `line 7, column 5: paths[0].colour: unknown field`},
		"line of a type error": {"name: x\npaths:\n  - name: a\n    rate: 1Mbit\n  - name: b\n    delay: {a: 1}\n", "line 6, column 12: paths[1].delay: want a single value, not a mapping"},
	} {
		_, err := Parse([]byte(c.file))
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", name, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error spans lines: %q", name, err)
		}
	}
}

func TestJSONScenario(t *testing.T) {
	s, err := Parse([]byte(`{"name": "j", "duration": "5s", "paths": [{"name": "a", "rate": "5Mbit", "delay": "1ms", "up": {"rate": "1Mbit"}}], "server_link": {"rate": "4Mbit"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Paths[0].Link.Up.Rate != 1e6 || s.Paths[0].Link.Down.Rate != 5e6 || s.Paths[0].Link.Up.Delay != time.Millisecond {
		t.Fatalf("asymmetric link %+v", s.Paths[0].Link)
	}
	if c := s.Capacity(Download); c != 4e6 {
		t.Fatalf("capacity %d, want the server link's 4e6", c)
	}
}

func TestBuildTopologyForwards(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		s, err := Builtin("aggregate")
		if err != nil {
			t.Fatal(err)
		}
		s.IPv6 = v6
		s.Competitors = []Competitor{{Name: "tcp0"}}
		sim := netsim.New(1)
		top, err := s.Build(sim)
		if err != nil {
			t.Fatal(err)
		}
		if len(top.ClientAddrs) != 2 || top.ClientAddrs[0].Is4() == v6 || top.ServerAddr.Is4() == v6 {
			t.Fatalf("addresses %v %v", top.ClientAddrs, top.ServerAddr)
		}
		for _, a := range append(top.ClientAddrs, top.Competitors[0].Addr) {
			if top.Router.Lookup(a) == nil {
				t.Errorf("router has no route to %v", a)
			}
		}
		if top.Router.Lookup(top.ServerAddr) == nil {
			t.Errorf("router has no route to the server")
		}
	}
}

// TestServerLinkDirections checks that a server link's Down direction is
// the one towards the clients: the server's outgoing pipe.
func TestServerLinkDirections(t *testing.T) {
	s, err := Parse([]byte("paths:\n  - rate: 1Gbit\nserver_link:\n  rate: 20Mbit\n  up:\n    rate: 5Mbit\n"))
	if err != nil {
		t.Fatal(err)
	}
	top, err := s.Build(netsim.New(1))
	if err != nil {
		t.Fatal(err)
	}
	srv := top.Server.Interfaces()[0]
	if out, in := srv.Out().Rate(), srv.In().Rate(); out != 20e6 || in != 5e6 {
		t.Fatalf("server sends at %d and receives at %d bit/s, want 20e6 and 5e6", out, in)
	}
	cl := top.Client.Interfaces()[0]
	if cl.Out().Rate() != 1e9 {
		t.Fatalf("client sends at %d", cl.Out().Rate())
	}
}

// TestCapacityUnlimitedPath (issue 19, point 6): while a path without a
// rate is up, the capacity is the server link's, or unknown (0).
func TestCapacityUnlimitedPath(t *testing.T) {
	s, err := Parse([]byte("duration: 10s\npaths:\n  - {name: a, rate: 10Mbit, delay: 10ms}\n  - {name: b, delay: 10ms, outages: [{at: 5s, for: 5s}]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c := s.Capacity(Download); c != 0 {
		t.Errorf("capacity %d with an unlimited path up, want 0 (unknown)", c)
	}
	if c := s.CapacityOver(Download, 5*time.Second, 10*time.Second); c != 10e6 {
		t.Errorf("capacity %d while the unlimited path is down, want 10e6", c)
	}
	s.ServerLink.Down.Rate = 40e6
	if c := s.Capacity(Download); c != 25e6 {
		t.Errorf("capacity %d behind a 40 Mbit/s server link, want 25e6 (40 then 10)", c)
	}
	if got, want := s.Paths[1].Outages(10*time.Second), []Span{{5 * time.Second, 10 * time.Second}}; len(got) != 1 || got[0] != want[0] {
		t.Errorf("outages %v, want %v", got, want)
	}
}

// TestErrorPositions checks that every kind of error names the line and
// column of the user's file where the offending key or value is written,
// counting comments and blank lines (issue 19: wrong line numbers).
func TestErrorPositions(t *testing.T) {
	const base = `# a scenario with comments

name: positions
duration: 10s
paths:
  - name: wifi
    rate: 20Mbit
    delay: 10ms

  - name: cell
    rate: 10Mbit
    delay: 40ms
    changes:
      - at: 5s
        rate: 5Mbit
`
	for name, c := range map[string]struct{ replace, with, want string }{
		"unknown field": {"    delay: 40ms\n", "    delay: 40ms\n    colour: red\n",
			`line 13, column 5: paths[1].colour: unknown field`},
		"bad rate": {"rate: 10Mbit", "rate: 10Mbt",
			`line 11, column 11: paths[1].rate: "10Mbt" is not a rate (examples: 20Mbit, 1.5Gbit, 500kbit)`},
		"bad duration": {"delay: 10ms", "delay: 10",
			`line 8, column 12: paths[0].delay: "10" is not a duration (examples: 20ms, 1.5s, 2m)`},
		"bad top-level duration": {"duration: 10s", "duration: soon",
			`line 4, column 11: duration: "soon" is not a duration (examples: 20ms, 1.5s, 2m)`},
		"wrong type": {"    rate: 20Mbit\n", "    rate: 20Mbit\n    mtu: big\n",
			"line 8, column 10: paths[0].mtu: want a whole number, not `big`"},
		"wrong kind": {"    delay: 10ms\n", "    delay: 10ms\n    outages: {at: 1s}\n",
			"line 9, column 14: paths[0].outages: want a list, not a mapping"},
		"nested path field": {"        rate: 5Mbit", "        rate: fast",
			`line 15, column 15: paths[1].changes[0].rate: "fast" is not a rate (examples: 20Mbit, 1.5Gbit, 500kbit)`},
		"nested unknown field": {"        rate: 5Mbit", "        rate: 5Mbit\n        jitter: 1ms",
			`line 16, column 9: paths[1].changes[0].jitter: unknown field`},
		"missing field, at its parent": {"      - at: 5s\n        rate: 5Mbit\n", "      - rate: 5Mbit\n",
			`line 14, column 9: paths[1].changes[0].at: missing`},
		"duplicate name": {"name: cell", "name: wifi",
			`line 10, column 11: paths[1].name: "wifi" is used twice`},
		// yaml.v3 itself names the line where the list or map being
		// read began (12, 5 and 14 for these three).
		"tab": {"    delay: 40ms\n", "    delay: 40ms\n\t- oops\n",
			`line 13: found a tab character that violates indentation`},
		"key indented wrongly": {"    delay: 40ms\n", "    delay: 40ms\n   bad: 1\n",
			`line 13: did not find expected '-' indicator`},
		"unclosed list": {"        rate: 5Mbit", "        rate: [5Mbit",
			`line 15: did not find expected ',' or ']'`},
	} {
		src := strings.Replace(base, c.replace, c.with, 1)
		if src == base {
			t.Fatalf("%s: %q not in the file", name, c.replace)
		}
		_, err := Parse([]byte(src))
		if err == nil || err.Error() != "invalid scenario: "+c.want {
			t.Errorf("%s: got\n\t%v\nwant\n\tinvalid scenario: %s", name, err, c.want)
		}
	}
	// A field merged from an anchor is where the anchor's map writes it;
	// JSON has lines and columns too.
	for name, c := range map[string]struct{ src, want string }{
		"merge key": {"links:\n  slow: &slow\n    rate: 1Mbitt\npaths:\n  - <<: *slow\n    name: a\n",
			`line 1, column 1: links: unknown field`},
		"alias": {"paths:\n  - &a\n    name: a\n    rate: 1Mbitt\n  - *a\n",
			`line 4, column 11: paths[0].rate: "1Mbitt" is not a rate (examples: 20Mbit, 1.5Gbit, 500kbit)`},
		"flow style": {"paths: [{name: a, mtu: big}]\n",
			"line 1, column 24: paths[0].mtu: want a whole number, not `big`"},
		"json": {"{\"name\": \"j\",\n \"paths\": [\n  {\"name\": \"a\",\n   \"rate\": \"5Mbt\"}]}\n",
			`line 4, column 12: paths[0].rate: "5Mbt" is not a rate (examples: 20Mbit, 1.5Gbit, 500kbit)`},
	} {
		_, err := Parse([]byte(c.src))
		if err == nil || err.Error() != "invalid scenario: "+c.want {
			t.Errorf("%s: got\n\t%v\nwant\n\tinvalid scenario: %s", name, err, c.want)
		}
	}
}

// FuzzParse checks that no input makes Parse panic, and that every error
// is one line that wraps ErrInvalid.
func FuzzParse(f *testing.F) {
	for _, name := range BuiltinNames() {
		src, _ := BuiltinFile(name)
		f.Add(src)
	}
	f.Add([]byte("paths: [{name: a, mtu: big}]\n"))
	f.Add([]byte("links:\n  slow: &slow\n    rate: 1Mbit\npaths:\n  - <<: *slow\n    name: a\n  - *slow\n"))
	f.Add([]byte("paths:\n  - name: a\n\t- oops\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		_, err := Parse(src)
		if err != nil && (!errors.Is(err, ErrInvalid) || strings.Contains(err.Error(), "\n")) {
			t.Fatalf("error %q", err)
		}
	})
}
