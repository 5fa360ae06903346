package observe

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/mptcp-go/mptcp/core"
	"github.com/mptcp-go/mptcp/tcp"
)

// eventNames are the names ip mptcp monitor prints (and package kpm
// parses) for the kernel's event numbers.
var eventNames = map[core.EventType]string{
	core.EventCreated: "CREATED", core.EventEstablished: "ESTABLISHED", core.EventClosed: "CLOSED",
	core.EventAnnounced: "ANNOUNCED", core.EventRemoved: "REMOVED", core.EventSubEstablished: "SF_ESTABLISHED",
	core.EventSubClosed: "SF_CLOSED", core.EventSubPriority: "SF_PRIO", core.EventListenerCreated: "LISTENER_CREATED",
	core.EventListenerClosed: "LISTENER_CLOSED", core.EventScheduled: "SCHEDULED", core.EventFallback: "FALLBACK",
}

// EventName returns the name of an event type, as ip mptcp monitor
// prints the kernel's ("SF_ESTABLISHED"); the stack's own are SCHEDULED
// and FALLBACK.
func EventName(t core.EventType) string {
	if n, ok := eventNames[t]; ok {
		return n
	}
	return fmt.Sprintf("UNKNOWN %d", uint8(t))
}

// errno is the kernel's socket error number for a subflow's error, as
// SF_CLOSED carries it (0 for none).
func errno(err error) uint8 {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, tcp.ErrConnectionReset):
		return 104 // ECONNRESET
	case errors.Is(err, tcp.ErrTimeout):
		return 110 // ETIMEDOUT
	case errors.Is(err, tcp.ErrConnectionRefused):
		return 111 // ECONNREFUSED
	case errors.Is(err, tcp.ErrConnectionAborted):
		return 103 // ECONNABORTED
	case errors.Is(err, tcp.ErrUnreachable):
		return 113 // EHOSTUNREACH
	}
	return 5 // EIO
}

// attr is one attribute of an event as ip mptcp monitor prints it.
type attr struct {
	key string
	val any
}

// attrs lists the attributes the kernel sends with an event of ev's type,
// in ip mptcp monitor's order.
func attrs(ev *core.Event) []attr {
	var a []attr
	token := func() { a = append(a, attr{"token", fmt.Sprintf("%08x", ev.Token)}) }
	addr := func(key string, ap netip.AddrPort) {
		v := "4"
		if ap.Addr().Is6() {
			v = "6"
		}
		a = append(a, attr{key + v, ap.Addr().String()})
	}
	full := func() {
		token()
		a = append(a, attr{"remid", ev.RemoteID}, attr{"locid", ev.LocalID})
		addr("saddr", ev.Local)
		addr("daddr", ev.Remote)
		a = append(a, attr{"sport", ev.Local.Port()}, attr{"dport", ev.Remote.Port()})
	}
	switch ev.Type {
	case core.EventCreated, core.EventEstablished:
		full()
	case core.EventSubEstablished, core.EventSubClosed, core.EventSubPriority:
		full()
		a = append(a, attr{"backup", b2i(ev.Backup)})
		if n := errno(ev.Err); n != 0 {
			a = append(a, attr{"error", n})
		}
		if ev.Reset {
			a = append(a, attr{"reset_reason", uint32(ev.ResetReason)}, attr{"reset_flags", fmt.Sprintf("0x%x", uint32(ev.ResetFlags))})
		}
	case core.EventAnnounced:
		token()
		a = append(a, attr{"remid", ev.RemoteID})
		addr("daddr", ev.Remote)
		if ev.Remote.Port() != 0 {
			a = append(a, attr{"dport", ev.Remote.Port()})
		}
	case core.EventRemoved:
		token()
		a = append(a, attr{"remid", ev.RemoteID})
	case core.EventClosed:
		token()
	case core.EventListenerCreated, core.EventListenerClosed:
		addr("saddr", ev.Local)
		a = append(a, attr{"sport", ev.Local.Port()})
	case core.EventScheduled:
		token()
		a = append(a, attr{"subflow", ev.Subflow}, attr{"dsn", fmt.Sprintf("%x", ev.DSN)}, attr{"len", ev.Len})
	case core.EventFallback:
		token()
		a = append(a, attr{"reason", ev.Reason.String()})
	}
	if ev.Server && ev.Type != core.EventListenerCreated && ev.Type != core.EventListenerClosed {
		a = append(a, attr{"server_side", 1})
	}
	return a
}

func b2i(v bool) int {
	if v {
		return 1
	}
	return 0
}

// FormatEvent formats ev as ip mptcp monitor prints the kernel's events,
// for instance "[  SF_ESTABLISHED] token=1d7b2c3a remid=1 locid=2
// saddr4=10.0.0.2 daddr4=10.0.1.1 sport=40213 dport=80 backup=0".
func FormatEvent(ev core.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%16s]", EventName(ev.Type))
	for _, a := range attrs(&ev) {
		fmt.Fprintf(&b, " %s=%v", a.key, a.val)
	}
	return b.String()
}

// MarshalEvent encodes ev as one flat JSON object with the same keys as
// package kpm's kernel events: "type" in lower case, the attributes, and
// "time" (RFC 3339).
func MarshalEvent(ev core.Event) ([]byte, error) {
	var b strings.Builder
	fmt.Fprintf(&b, `{"type":%q`, strings.ToLower(EventName(ev.Type)))
	if !ev.Time.IsZero() {
		t, _ := ev.Time.MarshalText()
		fmt.Fprintf(&b, `,"time":%q`, t)
	}
	for _, a := range attrs(&ev) {
		key := strings.TrimSuffix(strings.TrimSuffix(a.key, "4"), "6")
		v, err := json.Marshal(a.val)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, ",%q:%s", key, v)
	}
	b.WriteString("}")
	return []byte(b.String()), nil
}
