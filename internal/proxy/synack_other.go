//go:build !linux

package proxy

import "net"

// synAckOptions returns no options where TCP_INFO is not available.
func synAckOptions(net.Conn) []byte { return []byte{} }
