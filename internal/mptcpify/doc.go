// Package mptcpify makes the kernel create Multipath TCP sockets where a
// program asks for TCP ones, for the processes of one cgroup, with a BPF
// program on the kernel's update_socket_protocol hook (Linux 6.6+). It is
// what "mptcp run" is made of; docs/run.md explains the design.
//
// The program is written with cilium/ebpf's instruction builder, so building
// the project needs no C toolchain. The hook is global: every socket(2) call
// on the machine runs the program, which therefore filters by the caller's
// cgroup itself.
//
// Where the kernel refuses the program, a seccomp user-notification
// backend serves a command "mptcp run" starts: it converts sockets at
// socket(2), or, for filters on the destination or the side (Filter), at
// connect(2) and listen(2), by replacing the TCP socket in place.
package mptcpify
