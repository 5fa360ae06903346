package scenario

import "fmt"

// MaxHosts bounds a version 2 topology's hosts (a FatTree with k=16 has
// 1024).
const MaxHosts = 1024

// fatTree adds the k-ary FatTree's nodes and links.
func (g *graph) fatTree(c *compiler, ft *FatTreeFile) {
	k := ft.K
	if k < 2 || k%2 != 0 || k*k*k/4 > MaxHosts {
		c.fail("topology.fattree.k", fmt.Sprintf("%d: want an even number from 2 to 16", k))
		return
	}
	at, half := "topology.fattree", k/2
	for j := range half * half {
		g.node(c, at, fmt.Sprintf("c%d", j), false)
	}
	for p := range k {
		for i := range half {
			g.node(c, at, fmt.Sprintf("a%d_%d", p, i), false)
			g.node(c, at, fmt.Sprintf("e%d_%d", p, i), false)
		}
		for e := range half {
			edge := fmt.Sprintf("e%d_%d", p, e)
			for i := range half {
				h := fmt.Sprintf("h%d_%d_%d", p, e, i)
				g.node(c, at, h, true)
				g.add(c, at, h, edge, &ft.LinkFile)
			}
			for a := range half {
				g.add(c, at, edge, fmt.Sprintf("a%d_%d", p, a), &ft.LinkFile)
			}
		}
		for a := range half {
			for j := range half {
				g.add(c, at, fmt.Sprintf("a%d_%d", p, a), fmt.Sprintf("c%d", a*half+j), &ft.LinkFile)
			}
		}
	}
}

// leafSpine adds a two-tier Clos fabric's nodes and links.
func (g *graph) leafSpine(c *compiler, ls *LeafSpineFile) {
	at := "topology.leafspine"
	switch {
	case ls.Leaves < 1 || ls.Leaves > 64:
		c.fail(at+".leaves", fmt.Sprintf("%d: want 1 to 64", ls.Leaves))
		return
	case ls.Spines < 1 || ls.Spines > 64:
		c.fail(at+".spines", fmt.Sprintf("%d: want 1 to 64", ls.Spines))
		return
	case ls.HostsPerLeaf < 1 || ls.Leaves*ls.HostsPerLeaf > MaxHosts:
		c.fail(at+".hosts_per_leaf", fmt.Sprintf("%d: want at least 1 and at most %d hosts in all", ls.HostsPerLeaf, MaxHosts))
		return
	}
	up := &ls.LinkFile
	if ls.Uplink != nil {
		up = ls.Uplink
	}
	for s := range ls.Spines {
		g.node(c, at, fmt.Sprintf("s%d", s), false)
	}
	for l := range ls.Leaves {
		leaf := fmt.Sprintf("l%d", l)
		g.node(c, at, leaf, false)
		for s := range ls.Spines {
			g.add(c, at+".uplink", leaf, fmt.Sprintf("s%d", s), up)
		}
		for i := range ls.HostsPerLeaf {
			h := fmt.Sprintf("h%d_%d", l, i)
			g.node(c, at, h, true)
			g.add(c, at, h, leaf, &ls.LinkFile)
		}
	}
}
