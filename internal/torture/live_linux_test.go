//go:build linux

package torture

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// liveServerEnv makes the test binary a live round's server process.
const liveServerEnv = "TORTURE_LIVE_SERVER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(liveServerEnv); spec != "" {
		if err := ServeLive(spec, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testServer runs the server process as this test binary.
func testServer(spec string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), liveServerEnv+"="+spec)
	return cmd
}

// TestLiveSlice runs one round of two live cases on one network, aimed at
// our server: every transfer completes intact while the attacker sends,
// our server counts the attack, and its process's memory is measured. The whole campaign
// is mptcp torture --live.
func TestLiveSlice(t *testing.T) {
	if err := LiveAvailable(); err != nil {
		t.Skip(err)
	}
	e, err := newLiveEnv(testServer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.close)
	for _, tc := range []struct{ name, counter string }{
		{"live/rst-in-window", "ours:ChallengeACKs"},
		{"live/malformed", "ours:BadOptions"},
	} {
		cs, err := selectFrom(LiveCases(), "^"+tc.name+"$")
		if err != nil {
			t.Fatal(err)
		}
		// At our server's connections only, whose counters are checked.
		c := cs[0]
		at := *c.Live
		at.Target = "ours"
		c.Live = &at
		r := e.round(&c, 1)
		if r.Outcome != Completed {
			t.Errorf("%s: %s: %s", tc.name, r.Outcome, r.Detail)
		}
		if r.Counters[tc.counter] == 0 || r.Counters["attacker:sent"] == 0 {
			t.Errorf("%s: the attack was not counted: %v", tc.name, r.Counters)
		}
		if r.RSS == 0 {
			t.Errorf("%s: no peak RSS for the server process", tc.name)
		}
		t.Logf("%s: %v, server peak RSS %.0f MB", tc.name, r.Counters, float64(r.RSS)/1e6)
	}
}
