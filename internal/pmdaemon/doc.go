// Package pmdaemon is a userspace path manager for the Linux kernel's MPTCP:
// with net.mptcp.path_manager=userspace the kernel leaves every decision
// about subflows and address announcements to a program listening to its
// events, and this is that program.
//
// The decisions live in Manager, a state machine fed with kernel MPTCP
// events, interface and address changes and the current time, which
// answers with the commands to send (create or destroy a subflow,
// announce or remove an address, set a subflow's backup flag) and with
// notes that say why something was not done. It does no I/O, so it is
// tested without a kernel. Run connects it to the kernel.
//
// Policies: "fullmesh" (a subflow from every usable local address to every
// known peer address), "ndiffports" (N subflows over the initial pair of
// addresses, differing in source port), "none" (only announcements and
// backup rules). Interface allow and deny lists restrict the addresses
// used, backup patterns mark subflows on matching interfaces as backup, and
// announcements advertise chosen addresses or ports to every connection
// this host accepts. A subflow whose interface goes down or whose address
// goes away is removed, and a new one is created when it comes back.
package pmdaemon
