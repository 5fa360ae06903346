// Package cputime reads the CPU time the process has used, so that
// benchmarks and the simulator's speed tables report rates that hold up on
// a machine busy with other work (wall-clock time there measures the
// neighbours).
package cputime
