package simrun

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

// CSV tables of a NetResult.
const (
	CSVFlows  = "flows"
	CSVLinks  = "links"
	CSVSeries = "series"
)

// WriteCSV writes one table of res (CSVFlows, CSVLinks or CSVSeries) as
// CSV with a header row.
func WriteCSV(w io.Writer, res *NetResult, table string) error {
	cw := csv.NewWriter(w)
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	i := strconv.Itoa
	var rows [][]string
	switch table {
	case CSVFlows:
		rows = append(rows, []string{"name", "from", "to", "protocol", "workload", "scheduler", "cc", "pm", "connections",
			"bytes_delivered", "goodput_bps", "completed", "completion_s", "objects", "object_mean_s", "object_p50_s", "object_p99_s",
			"tcp_retransmits", "ooo_mean_bytes", "ooo_max_bytes", "subflows", "integrity_ok"})
		for _, fr := range res.Flows {
			rows = append(rows, []string{fr.Name, fr.From, fr.To, fr.Protocol, fr.Workload, fr.Scheduler, fr.CC, fr.PM, i(fr.Connections),
				strconv.FormatInt(fr.BytesDelivered, 10), f(fr.GoodputBps), strconv.FormatBool(fr.Completed), f(fr.CompletionS),
				i(fr.Objects), f(fr.ObjectMeanS), f(fr.ObjectP50S), f(fr.ObjectP99S),
				u(fr.Retransmits), f(fr.OutOfOrderMeanBytes), i(fr.OutOfOrderMaxBytes), i(fr.Subflows), strconv.FormatBool(fr.IntegrityOK)})
		}
	case CSVLinks:
		rows = append(rows, []string{"from", "to", "rate_bps", "bytes", "utilisation", "drops"})
		for _, l := range res.Links {
			rows = append(rows, []string{l.From, l.To, strconv.FormatInt(l.RateBps, 10), u(l.Bytes), f(l.Utilisation), u(l.Drops)})
		}
	case CSVSeries:
		rows = append(rows, []string{"t", "flow", "subflow", "path", "rtt_ms", "cwnd_bytes", "bps"})
		for _, p := range res.Series {
			rows = append(rows, []string{f(p.T), p.Flow, i(p.Subflow), p.Path, f(p.RTTMs), i(p.Cwnd), f(p.Bps)})
		}
	default:
		return fmt.Errorf("no CSV table %q (want %s, %s or %s)", table, CSVFlows, CSVLinks, CSVSeries)
	}
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}
