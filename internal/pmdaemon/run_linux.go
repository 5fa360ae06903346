//go:build linux

package pmdaemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mptcp-go/mptcp/kpm"
	"golang.org/x/sys/unix"
)

// requestTimeout bounds each command to the kernel; the kernel answers at
// once, so only a wedged socket takes longer.
const requestTimeout = 5 * time.Second

// Run is the daemon: it connects a Manager to the kernel of the calling
// thread's network namespace until ctx ends. Unless cfg.PathManager is
// "keep", it switches net.mptcp.path_manager to "userspace" first and
// restores the previous value before returning. Connections created while
// the kernel's own path manager was selected stay with it.
func Run(ctx context.Context, cfg Config, log *slog.Logger) (err error) {
	m, err := NewManager(cfg)
	if err != nil {
		return err
	}
	release, err := lockNetns()
	if err != nil {
		return err
	}
	defer release()
	pc, err := kpm.Dial(nil)
	if err != nil {
		return err
	}
	defer pc.Close()
	// Subscribe before switching the path manager and before listing
	// interfaces, so that nothing happens unseen in between.
	ec, err := kpm.DialEvents(nil)
	if err != nil {
		return err
	}
	defer ec.Close()
	nw, err := kpm.WatchNet(nil)
	if err != nil {
		return err
	}
	defer nw.Close()
	links, addrs, err := kpm.Snapshot(nil)
	if err != nil {
		return err
	}

	if cfg.PathManager == PathManagerKeep {
		pm, err := kpm.PathManager()
		if err != nil {
			return err
		}
		if pm != kpm.PathManagerUserspace {
			log.Warn("path manager is not userspace: new connections are left to the kernel (path_manager: keep)", "path_manager", pm)
		}
	} else {
		prev, err := kpm.SetPathManager(kpm.PathManagerUserspace)
		if err != nil {
			return err
		}
		log.Info("path manager switched", "from", prev, "to", kpm.PathManagerUserspace)
		defer func() {
			if _, rerr := kpm.SetPathManager(prev); rerr != nil {
				err = errors.Join(err, fmt.Errorf("restore path manager %s: %w", prev, rerr))
				return
			}
			log.Info("path manager restored", "to", prev)
		}()
	}

	d := &driver{m: m, pc: pc, log: log}
	d.exec(m.SetNet(time.Now(), links, addrs))
	log.Info("path manager ready", "policy", cfg.Policy, "max_subflows", cfg.MaxSubflows)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	evc := make(chan []kpm.Event)
	netc := make(chan []kpm.NetChange)
	errc := make(chan error, 2)
	resync := make(chan struct{}, 1)
	go readEvents(ctx, ec, evc, errc, log)
	go readNet(ctx, nw, netc, errc, resync, log)
	// A blocked Receive ends when its socket's deadline passes.
	go func() {
		<-ctx.Done()
		ec.SetReadDeadline(time.Now())
		nw.SetReadDeadline(time.Now())
	}()

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			log.Info("stopping", "connections", m.Connections())
			return nil
		case err := <-errc:
			return err
		case evs := <-evc:
			for _, e := range evs {
				log.Debug("event", "event", e.String())
				d.exec(m.Event(time.Now(), e))
			}
		case chs := <-netc:
			for _, ch := range chs {
				d.exec(m.NetChange(time.Now(), ch))
			}
		case <-resync:
			links, addrs, err := kpm.Snapshot(nil)
			if err != nil {
				return err
			}
			d.exec(m.SetNet(time.Now(), links, addrs))
		case now := <-tick.C:
			d.exec(m.Tick(now))
		}
	}
}

func readEvents(ctx context.Context, ec *kpm.EventConn, out chan<- []kpm.Event, errc chan<- error, log *slog.Logger) {
	for {
		evs, err := ec.Receive()
		if ctx.Err() != nil {
			return
		}
		switch {
		case errors.Is(err, kpm.ErrEventsLost), errors.Is(err, kpm.ErrMalformedEvent):
			log.Warn("MPTCP events", "error", err)
		case err != nil:
			errc <- err
			return
		}
		if len(evs) == 0 {
			continue
		}
		select {
		case out <- evs:
		case <-ctx.Done():
			return
		}
	}
}

func readNet(ctx context.Context, nw *kpm.NetWatcher, out chan<- []kpm.NetChange, errc chan<- error, resync chan<- struct{}, log *slog.Logger) {
	for {
		chs, err := nw.Receive()
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, kpm.ErrEventsLost) {
			log.Warn("interface changes lost; listing interfaces again", "error", err)
			select {
			case resync <- struct{}{}:
			default:
			}
			continue
		}
		if err != nil {
			errc <- err
			return
		}
		if len(chs) == 0 {
			continue
		}
		select {
		case out <- chs:
		case <-ctx.Done():
			return
		}
	}
}

// driver carries out a Manager's output.
type driver struct {
	m   *Manager
	pc  *kpm.Conn
	log *slog.Logger
}

func (d *driver) exec(o Output) {
	for _, n := range o.Notes {
		d.logNote(n)
	}
	for _, a := range o.Actions {
		d.log.Info(a.Kind.String(), "action", a.String(), "why", a.Why)
		err := d.do(a)
		if err == nil {
			continue
		}
		if a.Kind == ActDestroy && errors.Is(err, unix.ESRCH) {
			continue // already gone: the peer or a removal closed it
		}
		// Failed yields notes and never new commands, so this recursion
		// ends at the next level.
		d.exec(d.m.Failed(time.Now(), a, err))
	}
}

func (d *driver) logNote(n Note) {
	attrs := []any{}
	if n.Token != 0 {
		attrs = append(attrs, "token", fmt.Sprintf("%08x", n.Token))
	}
	if n.Local.IsValid() {
		attrs = append(attrs, "local", n.Local.String())
	}
	if n.Remote.IsValid() {
		attrs = append(attrs, "remote", n.Remote.String())
	}
	attrs = append(attrs, "reason", n.Msg)
	switch n.Kind {
	case NoteDecline:
		d.log.Info("declined", attrs...)
	case NoteWarn:
		d.log.Warn("kernel refused", attrs...)
	default:
		d.log.Info("note", attrs...)
	}
}

func (d *driver) do(a Action) error {
	if err := d.pc.SetDeadline(time.Now().Add(requestTimeout)); err != nil {
		return err
	}
	switch a.Kind {
	case ActCreate:
		return d.pc.CreateSubflow(a.Token, a.Local, a.Remote)
	case ActDestroy:
		return d.pc.DestroySubflow(a.Token, a.LocalAddr, a.Remote)
	case ActAnnounce:
		return d.pc.Announce(a.Token, a.Local)
	case ActRemove:
		return d.pc.Remove(a.Token, a.ID)
	case ActSetBackup:
		return d.pc.SetSubflowBackup(a.Token, a.LocalAddr, a.Remote, a.Backup)
	}
	return fmt.Errorf("unknown action %v", a.Kind)
}
