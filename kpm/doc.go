// Package kpm drives the Linux kernel's Multipath TCP path manager over
// generic netlink (the "mptcp_pm" family).
//
// It covers what "ip mptcp" does and what a userspace path manager needs:
// the in-kernel path manager's endpoints and limits, the kernel's MPTCP event
// stream, and the per-connection commands of the kernel's "userspace" path
// manager mode (announce, remove, subflow create and destroy, set flags). It
// also tracks interfaces and addresses through rtnetlink and switches the
// per-namespace path manager sysctl.
//
// Every request asks the kernel for extended acknowledgements, so that a
// refusal carries the kernel's own explanation (see KernelError).
//
// A Conn lives in the network namespace it was opened in: generic netlink
// state (endpoints, limits, connections) is per namespace.
package kpm
