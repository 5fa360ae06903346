package sched

// Eligible appends to dst the positions of the subflows that may carry
// data now, whatever their room, under the rules every scheduler here
// shares with the kernel: a subflow must be usable and not the one with
// ID skip (-1 skips none); stale subflows are passed over while any other
// usable subflow is fresh; and backup subflows are eligible only when no
// non-backup subflow is usable (the kernel's mptcp_subflow_get_send
// counts active non-backup subflows, not their free window, before it
// turns to backups). The skipped subflow, when it is a usable, fresh
// non-backup one, still counts as a working primary: data sent again
// because the receive window is blocked (opportunistic retransmission)
// does not go to a backup, as the kernel's mptcp_subflow_get_retrans uses
// a backup only when no subflow makes progress. Pick is the lowest-RTT
// eligible subflow with room.
func Eligible(sfs []Subflow, skip int, dst []int) []int {
	r := rulesFor(sfs, skip)
	for i := range sfs {
		if r.eligible(&sfs[i]) {
			dst = append(dst, i)
		}
	}
	return dst
}

// rules are the eligibility rules in force for one set of subflows.
type rules struct {
	skip    int
	fresh   bool // some usable subflow other than skip is not stale
	primary bool // some non-backup subflow works: backups are not eligible
}

func rulesFor(sfs []Subflow, skip int) rules {
	r := rules{skip: skip}
	for i := range sfs {
		if sf := &sfs[i]; sf.ID != skip && sf.Usable && !sf.Stale {
			r.fresh = true
			break
		}
	}
	for i := range sfs {
		sf := &sfs[i]
		if !sf.Usable || sf.Backup {
			continue
		}
		if sf.ID == skip && !sf.Stale || sf.ID != skip && !(r.fresh && sf.Stale) {
			r.primary = true
			break
		}
	}
	return r
}

func (r rules) eligible(sf *Subflow) bool {
	return sf.ID != r.skip && sf.Usable && !(r.fresh && sf.Stale) && sf.Backup != r.primary
}

// fastest returns the position of the subflow among those at positions
// eligible with the lowest smoothed RTT, whether or not it has room (a
// subflow without a sample counts as fastest, as Pick orders them), or
// -1.
func fastest(sfs []Subflow, eligible []int) int {
	best := -1
	for _, i := range eligible {
		if best < 0 || lower(&sfs[i], &sfs[best]) {
			best = i
		}
	}
	return best
}

// withRoom appends to dst the positions in src whose subflows have room.
func withRoom(sfs []Subflow, src, dst []int) []int {
	for _, i := range src {
		if sfs[i].Room > 0 {
			dst = append(dst, i)
		}
	}
	return dst
}
