package pmdaemon

import (
	"fmt"
	"path"

	"github.com/mptcp-go/mptcp/kpm"
)

// matchAny returns the first pattern that name matches.
func matchAny(pats []string, name string) (string, bool) {
	for _, p := range pats {
		if ok, _ := path.Match(p, name); ok {
			return p, true
		}
	}
	return "", false
}

// addrDecline says why a local address may not carry subflows or be
// announced, or "" when it may. link is the address's interface, if known.
func (c *Config) addrDecline(a kpm.Addr, link *kpm.Link) string {
	ip := a.Prefix.Addr()
	switch {
	case link == nil:
		return "its interface is unknown"
	case ip.IsLoopback() || link.Loopback:
		return "loopback address"
	case ip.IsLinkLocalUnicast():
		return "link-local address"
	case ip.IsMulticast() || ip.IsUnspecified():
		return "not a unicast address"
	case a.Flags&kpm.AddrFlagDadFailed != 0:
		return "address failed duplicate address detection"
	case a.Flags&kpm.AddrFlagTentative != 0:
		return "address is tentative (duplicate address detection in progress)"
	case a.Flags&kpm.AddrFlagDeprecated != 0:
		return "address is deprecated"
	}
	return c.linkDecline(link)
}

// linkDecline says why an interface may not be used, or "".
func (c *Config) linkDecline(link *kpm.Link) string {
	if p, ok := matchAny(c.Interfaces.Deny, link.Name); ok {
		return fmt.Sprintf("interface %s matches deny pattern %q", link.Name, p)
	}
	if len(c.Interfaces.Allow) > 0 {
		if _, ok := matchAny(c.Interfaces.Allow, link.Name); !ok {
			return fmt.Sprintf("interface %s is not in the allow list", link.Name)
		}
	}
	if !link.Up {
		return fmt.Sprintf("interface %s is down", link.Name)
	}
	return ""
}

// isBackup reports whether subflows on the interface are backup subflows.
func (c *Config) isBackup(link *kpm.Link) bool {
	if link == nil {
		return false
	}
	_, ok := matchAny(c.Backup, link.Name)
	return ok
}
