// Package fairness measures how evenly flows share a network: the one
// definition of Jain's fairness index that the simulator's results, the
// TCP engine's scenario tests and the MPTCP fairness benchmark all use.
package fairness

// Jain returns Jain's fairness index of xs, (Σx)² / (n·Σx²): 1 when all
// are equal, 1/n when one has everything. It returns 0 when xs is empty
// or all zero, where no share is defined.
func Jain(xs []float64) float64 {
	var sum, sq float64
	for _, x := range xs {
		sum += x
		sq += x * x
	}
	if sq == 0 {
		return 0
	}
	return sum * sum / (float64(len(xs)) * sq)
}
