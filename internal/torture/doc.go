// Package torture is the robustness campaign of issue 21 as a tool: the
// real stack over the simulator (package simtest's topology) under a
// matrix of faults, middleboxes and forged packets, each case run over
// many seeds, every byte checked. A run is completed (every byte arrived
// once, intact, with EOF), corrupted (a byte differed), ended (a side
// closed with an error before the end: allowed only for the cases where
// RFC 8684 lets the connection end) or stuck (none of these within the
// virtual time limit).
//
// The matrix runs in parallel worker processes (the caller re-executes
// itself, see Worker) so each case's peak memory is measured apart; the
// Linux-only live adversary lives in the mptcp command.
package torture
