package kpm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// The path manager is chosen per network namespace by the sysctl
// net.mptcp.path_manager ("kernel" or "userspace", Linux 6.15 and later),
// or net.mptcp.pm_type (0 kernel, 1 userspace) before it. A connection
// keeps the path manager that was selected when it was created.
const (
	sysctlPathManager = "/proc/sys/net/mptcp/path_manager"
	sysctlPMType      = "/proc/sys/net/mptcp/pm_type"
)

// Path manager names accepted by SetPathManager.
const (
	PathManagerKernel    = "kernel"
	PathManagerUserspace = "userspace"
)

// PathManager returns the path manager selected in the calling thread's
// network namespace.
func PathManager() (string, error) {
	b, err := os.ReadFile(sysctlPathManager)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read path manager: %w", err)
	}
	b, err = os.ReadFile(sysctlPMType)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("read path manager: %w", ErrNotSupported)
		}
		return "", fmt.Errorf("read path manager: %w", err)
	}
	switch strings.TrimSpace(string(b)) {
	case "0":
		return PathManagerKernel, nil
	case "1":
		return PathManagerUserspace, nil
	default:
		return "", fmt.Errorf("read path manager: unknown pm_type %q", strings.TrimSpace(string(b)))
	}
}

// SetPathManager selects the path manager for new connections in the
// calling thread's network namespace and returns the previous one.
func SetPathManager(name string) (previous string, err error) {
	if name != PathManagerKernel && name != PathManagerUserspace {
		return "", fmt.Errorf("set path manager: unknown path manager %q (want kernel or userspace)", name)
	}
	previous, err = PathManager()
	if err != nil {
		return "", err
	}
	err = os.WriteFile(sysctlPathManager, []byte(name), 0o644)
	if errors.Is(err, fs.ErrNotExist) {
		v := "0"
		if name == PathManagerUserspace {
			v = "1"
		}
		err = os.WriteFile(sysctlPMType, []byte(v), 0o644)
	}
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return "", fmt.Errorf("set path manager to %s: %w", name, ErrPermission)
		}
		return "", fmt.Errorf("set path manager to %s: %w", name, err)
	}
	return previous, nil
}
