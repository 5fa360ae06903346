//go:build linux

package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// pmRun runs "mptcp pm ARGS" in process and returns the exit status the
// dispatcher would give, with both outputs.
func pmRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(append([]string{"pm"}, args...), &o, &e)
	return code, o.String(), e.String()
}

func TestPMHelp(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"endpoint", "--help"}, {"endpoint", "add", "--help"}, {"limits", "--help"},
		{"limits", "set", "-h"}, {"monitor", "--help"}, {"daemon", "--help"},
	} {
		code, out, errOut := pmRun(t, args...)
		if code != 0 || !strings.Contains(out, "Usage") {
			t.Errorf("pm %v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

func TestPMUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"endpoint", "frob"}, `unknown command "frob" (want add, del, flush, list or set)`},
		{[]string{"endpoint", "add"}, "an ADDRESS is required"},
		{[]string{"endpoint", "add", "10.0.0.1", "id"}, `"id" needs a value`},
		{[]string{"endpoint", "add", "10.0.0.1", "id", "300"}, `bad id "300"`},
		{[]string{"endpoint", "add", "10.0.0.1", "port", "0", "signal"}, `bad port "0"`},
		{[]string{"endpoint", "add", "10.0.0.1", "sideways"}, `unexpected "sideways"`},
		{[]string{"endpoint", "add", "10.0.0.1", "10.0.0.2"}, "two addresses given"},
		{[]string{"endpoint", "add", "10.0.0.1", "nobackup"}, "no* words only apply to endpoint set"},
		{[]string{"endpoint", "del"}, "give id ID or an ADDRESS"},
		{[]string{"endpoint", "del", "id", "0"}, "id 0 needs the ADDRESS"},
		{[]string{"endpoint", "set", "id", "1", "signal"}, "only backup, fullmesh and laminar can change"},
		{[]string{"endpoint", "set", "id", "1"}, "nothing to change"},
		{[]string{"limits", "set", "subflows", "x"}, `bad subflows "x"`},
		{[]string{"limits", "set", "flows", "1"}, `unknown limit "flows"`},
		{[]string{"limits", "set"}, "give subflows NR and/or add_addr_accepted NR"},
		{[]string{"monitor", "extra"}, "monitor takes no arguments"},
		{[]string{"monitor", "--count", "-1"}, "must not be negative"},
		{[]string{"daemon", "--policy", "fulmesh"}, `unknown policy "fulmesh"`},
		{[]string{"daemon", "--announce", "10.0.0.1:99999"}, "--announce: bad entry"},
		{[]string{"endpoint", "list", "--jsn"}, "flag provided but not defined"},
	} {
		code, _, errOut := pmRun(t, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("pm %v: exit %d, stderr %q; want exit 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
}

func TestPMDaemonConfigErrorIsOneLine(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "pm.yaml")
	if err := os.WriteFile(name, []byte("policy: fullmesh\ninterfaces:\n  alow: [eth0]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := pmRun(t, "daemon", "--config", name)
	want := "mptcp pm daemon: " + name + ": config line 3: alow: unknown field\n"
	if code != 1 || errOut != want {
		t.Errorf("exit %d, stderr %q; want exit 1 and %q", code, errOut, want)
	}
}

func TestParseAnnounceList(t *testing.T) {
	anns, err := parseAnnounceList("192.0.2.1, 192.0.2.1:8443,:9000,dev=eth1,[2001:db8::1]:80")
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, a := range anns {
		got = append(got, strings.Join([]string{a.Address, a.Interface, strconv.Itoa(int(a.Port))}, "|"))
	}
	want := []string{"192.0.2.1||0", "192.0.2.1||8443", "||9000", "|eth1|0", "2001:db8::1||80"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := parseAnnounceList(":0"); !errors.Is(err, errUsage) {
		t.Errorf(":0 accepted: %v", err)
	}
}
