//go:build linux

package main

import (
	"errors"

	"github.com/mptcp-go/mptcp/kpm"
)

func init() {
	cmdPMEndpointAdd.Run = endpointCommand(endpointAdd)
	cmdPMEndpointDel.Run = endpointCommand(endpointDel)
	cmdPMEndpointSet.Run = endpointCommand(endpointSet)
	cmdPMEndpointList.Run = endpointListFlags
	cmdPMEndpointFlush.Run = endpointCommand(endpointFlush)
	cmdPMLimitsShow.Run = limitsShowFlags
	cmdPMLimitsSet.Run = limitsSetFlags
	cmdPMMonitor.Run = pmMonitorFlags
	cmdPMDaemon.Run = pmDaemonFlags
}

// dialPM opens the request connection, with errors phrased for a person.
func dialPM() (*kpm.Conn, error) {
	c, err := kpm.Dial(nil)
	if err != nil {
		return nil, pmError(err)
	}
	return c, nil
}

// pmError keeps the two conditions every command must state plainly —
// no privilege, no MPTCP — free of netlink detail.
func pmError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kpm.ErrNotSupported):
		return kpm.ErrNotSupported
	}
	return err
}
