//go:build linux

package mptcpify

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrNoCgroup2 means no cgroup v2 hierarchy is mounted.
var ErrNoCgroup2 = errors.New("no cgroup v2 hierarchy is mounted (only cgroup v1): mount one with \"mount -t cgroup2 none /sys/fs/cgroup/unified\"")

// Cgroup2Root returns where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup
// on a pure v2 system, /sys/fs/cgroup/unified on a hybrid one, or wherever
// /proc/self/mountinfo shows it.
func Cgroup2Root() (string, error) {
	for _, p := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		if isCgroup2(p) {
			return p, nil
		}
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", ErrNoCgroup2
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "36 35 0:30 / /sys/fs/cgroup/unified rw,... shared:9 - cgroup2 cgroup2 rw"
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields := strings.Fields(pre)
		if ok && len(fields) >= 5 && strings.HasPrefix(post, "cgroup2 ") && isCgroup2(fields[4]) {
			return fields[4], nil
		}
	}
	return "", ErrNoCgroup2
}

func isCgroup2(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}

// Cgroup is a cgroup v2 directory and what the program needs to know of it.
type Cgroup struct {
	Path  string // absolute path in the mounted hierarchy
	ID    uint64 // the kernel's cgroup id: the directory's inode number
	Level int    // depth below the root, which is 0
}

// Target returns the program target for the cgroup and families.
func (c Cgroup) Target(f Families) Target {
	return Target{CgroupID: c.ID, Level: c.Level, Families: f}
}

// OpenCgroup resolves path, absolute or relative to the v2 root, to a
// cgroup of the v2 hierarchy.
func OpenCgroup(path string) (Cgroup, error) {
	root, err := Cgroup2Root()
	if err != nil {
		return Cgroup{}, err
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(root, path)
	}
	path = filepath.Clean(path)
	rel, err := filepath.Rel(root, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return Cgroup{}, fmt.Errorf("cgroup %s is not in the cgroup v2 hierarchy at %s", path, root)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return Cgroup{}, fmt.Errorf("cgroup %s: %w", path, err)
	}
	if !isCgroup2(path) || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return Cgroup{}, fmt.Errorf("%s is not a cgroup v2 directory", path)
	}
	level := 0
	if rel != "." {
		level = len(strings.Split(rel, "/"))
	}
	return Cgroup{Path: path, ID: st.Ino, Level: level}, nil
}

// CgroupOfPID returns the cgroup v2 of process pid, from /proc/PID/cgroup.
func CgroupOfPID(pid int) (Cgroup, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return Cgroup{}, fmt.Errorf("process %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rel, ok := strings.CutPrefix(line, "0::"); ok {
			return OpenCgroup(strings.TrimPrefix(rel, "/"))
		}
	}
	return Cgroup{}, fmt.Errorf("process %d is in no cgroup v2 (no \"0::\" line in /proc/%d/cgroup)", pid, pid)
}

// NewCgroup creates the cgroup name directly below the v2 root.
func NewCgroup(name string) (Cgroup, error) {
	root, err := Cgroup2Root()
	if err != nil {
		return Cgroup{}, err
	}
	path := filepath.Join(root, name)
	if err := os.Mkdir(path, 0o755); err != nil {
		return Cgroup{}, fmt.Errorf("create cgroup: %w", err)
	}
	return OpenCgroup(path)
}

// Remove deletes the cgroup; it fails with EBUSY while processes are in it.
func (c Cgroup) Remove() error {
	if err := unix.Rmdir(c.Path); err != nil {
		return fmt.Errorf("remove cgroup %s: %w", c.Path, err)
	}
	return nil
}

// PathOfID finds the cgroup with the given id below the v2 root, for
// listings; it returns "" when there is none (the cgroup was removed).
func PathOfID(id uint64) string {
	root, err := Cgroup2Root()
	if err != nil {
		return ""
	}
	found := ""
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		var st unix.Stat_t
		if unix.Stat(p, &st) == nil && st.Ino == id {
			found = p
			return filepath.SkipAll
		}
		return nil
	})
	return found
}
