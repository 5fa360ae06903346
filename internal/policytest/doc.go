// Package policytest shows, in the simulator, that the scheduling and
// path-management policies do what their papers and the kernel claim: the
// real stack (package core) runs over netsim with deterministic seeds, and
// each property is a test.
//
//   - Schedulers on heterogeneous paths with a small receive buffer: the
//     application-level delay and throughput of default, roundrobin,
//     blest and ecf rank as BLEST (IFIP Networking 2016) and ECF (CoNEXT
//     2017) rank them; redundant delivers small messages fastest when one
//     path is lossy.
//   - ndiffports on a fabric of equal-cost paths with ECMP hashing of the
//     5-tuple (an ECMP router built here from netsim's Processor):
//     utilisation rises with the number of subflows, as in "Improving
//     Datacenter Performance and Robustness with Multipath TCP" (SIGCOMM
//     2011).
//   - Backup: a backup subflow carries no data until the primary path
//     fails, then carries it.
//   - The kernel path manager's endpoints, limits and declines, and the
//     userspace path manager's events and commands, end to end.
//
// The tests print their figures with -v. The tables of the closing note
// come from
//
//	go test ./internal/policytest -run 'TestSchedulerRanking|TestNDiffPortsECMP' -v
//
// and longer sweeps (more seeds, more N) from the same command with
// -args -sweep.
package policytest
