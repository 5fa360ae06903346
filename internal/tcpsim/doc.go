// Package tcpsim runs the TCP engine over the netsim simulator: bulk
// transfers verified byte for byte over a matrix of rates, delays, loss,
// reordering and duplication; efficiency, fairness and outage scenarios;
// and the benchmark of simulated goodput per wall-clock second.
//
// The package holds only tests. The full matrix runs with
//
//	go test ./internal/tcpsim -matrix
//
// (or TCP_MATRIX=1); without it a representative slice runs.
package tcpsim
