package drill

import (
	"path/filepath"
	"slices"
	"testing"
)

// upstreamPass lists the upstream scripts the stack passes; a change that
// makes one fail is a regression. docs/drill.md explains the others.
var upstreamPass = []string{
	"add_addr/add_addr_server.pkt",
	"dss/dss_fin_server.pkt",
	"dss/dss_ssn_specified_server.pkt",
	"dss/mpc_with_data_server.pkt",
	"mp_capable/v1_bind_tcpfallback_flagB.pkt",
	"mp_capable/v1_bind_tcpfallback_flagB_3rd_ack.pkt",
	"mp_capable/v1_bind_tcpfallback_flagH.pkt",
	"mp_capable/v1_bind_tcpfallback_flagH_3rd_ack.pkt",
	"mp_capable/v1_bind_tcpfallback_wrongver.pkt",
	"mp_capable/v1_bind_tcpfallback_wrongver_3rd_ack.pkt",
	"mp_capable/v1_connect_tcpfallback_flagB.pkt",
	"mp_capable/v1_connect_tcpfallback_flagH.pkt",
	"mp_capable/v1_connect_tcpfallback_wrongver.pkt",
	"mp_capable/v1_mp_capable_bind_no_cs.pkt",
	"mp_capable/v1_mp_capable_connect_no_cs.pkt",
	"mp_join/mp_join_server_bad_token.pkt",
}

func TestUpstreamScripts(t *testing.T) {
	dir := sharedDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.pkt"))
	if len(files) == 0 {
		t.Skip("no scripts in " + dir)
	}
	var results []*Result
	for _, f := range files {
		res := RunFile(f, Config{})
		results = append(results, res)
		rel, _ := filepath.Rel(dir, f)
		switch {
		case res.Status == Error:
			t.Errorf("runner or script error: %v", res)
		case slices.Contains(upstreamPass, filepath.ToSlash(rel)) && res.Status != Pass:
			t.Errorf("regression: %v", res)
		default:
			t.Log(res.String())
		}
	}
	for _, s := range Summarize(results) {
		t.Logf("%-12s %d/%d pass", s.Dir, s.Pass, s.Scripts)
	}
}
