package sched

// DataInFlighter is implemented by a Conn that knows how many bytes it
// has sent at data level that the peer has not yet acknowledged with a
// DATA_ACK (SND.NXT - SND.UNA of the connection). With SendWindow it
// gives the whole window the peer offers, which BLEST weighs; without it
// BLEST estimates the window from the subflows, missing the bytes they
// delivered out of order that still wait for the DATA_ACK, and so errs
// on the side of not using the slow subflow.
type DataInFlighter interface {
	DataInFlight() int
}
