// Package sockdiag lists the kernel's MPTCP sockets and their TCP
// subflows through sock_diag (inet_diag), as ss -Mti does: the MPTCP
// socket's struct mptcp_info, each subflow's tcp_info, congestion control
// and MPTCP ULP attributes. It works on Linux only.
package sockdiag
