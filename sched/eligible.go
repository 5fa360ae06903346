package sched

// Eligible appends to dst the subflows that may carry data now, whatever
// their room, under the rules every scheduler here shares with the
// kernel: a subflow must be usable and not the one with ID skip (-1 skips
// none); stale subflows are passed over while any other usable subflow is
// fresh; and backup subflows are eligible only when no non-backup subflow
// is (the kernel's mptcp_subflow_get_send counts active non-backup
// subflows, not their free window, before it turns to backups). Pick is
// the lowest-RTT eligible subflow with room.
func Eligible(sfs []Subflow, skip int, dst []Subflow) []Subflow {
	fresh := false
	for _, sf := range sfs {
		if sf.ID() != skip && sf.Usable() && !sf.Stale() {
			fresh = true
			break
		}
	}
	ok := func(sf Subflow) bool {
		return sf.ID() != skip && sf.Usable() && !(fresh && sf.Stale())
	}
	primary := false
	for _, sf := range sfs {
		if ok(sf) && !sf.Backup() {
			primary = true
			break
		}
	}
	for _, sf := range sfs {
		if ok(sf) && sf.Backup() != primary {
			dst = append(dst, sf)
		}
	}
	return dst
}

// fastest returns the eligible subflow with the lowest smoothed RTT,
// whether or not it has room (a subflow without a sample counts as
// fastest, as Pick orders them), or nil.
func fastest(eligible []Subflow) Subflow {
	var best Subflow
	for _, sf := range eligible {
		if best == nil || lower(sf, best) {
			best = sf
		}
	}
	return best
}

// withRoom appends to dst the subflows of src that have room.
func withRoom(src, dst []Subflow) []Subflow {
	for _, sf := range src {
		if sf.Room() > 0 {
			dst = append(dst, sf)
		}
	}
	return dst
}
