package tun

import (
	"errors"
	"syscall"
)

// deviceGone reports a read error that no retry can cure: Linux answers
// EBADFD on a descriptor whose interface was deleted (its namespace
// removed, "ip link del").
func deviceGone(err error) bool { return errors.Is(err, syscall.EBADFD) }
