package pm

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"sync"
	"time"
)

func init() {
	RegisterParams("userspace", func(p Params) (Factory, error) {
		if err := p.Check(); err != nil {
			return nil, err
		}
		return defaultUserspace.New, nil
	})
}

// defaultUserspace serves the name "userspace": with no controller it
// does what the kernel's userspace path manager does without mptcpd:
// nothing beyond the initial subflow.
var defaultUserspace = NewUserspace(UserspaceConfig{})

// UserEventKind names a userspace path-manager event as the kernel's
// MPTCP netlink events (enum mptcp_event_type) are named.
type UserEventKind uint8

// The events, in the kernel's order.
const (
	UserCreated UserEventKind = iota + 1
	UserEstablished
	UserClosed
	UserAnnounced
	UserRemoved
	UserSubEstablished
	UserSubClosed
	UserSubPriority
	UserListenerCreated
	UserListenerClosed
)

var userEventNames = [...]string{"", "CREATED", "ESTABLISHED", "CLOSED", "ANNOUNCED", "REMOVED",
	"SUB_ESTABLISHED", "SUB_CLOSED", "SUB_PRIORITY", "LISTENER_CREATED", "LISTENER_CLOSED"}

// String returns the kernel's name of the event.
func (k UserEventKind) String() string {
	if int(k) < len(userEventNames) && k != 0 {
		return userEventNames[k]
	}
	return fmt.Sprintf("UserEventKind(%d)", uint8(k))
}

// UserEvent is one event, with the attributes the kernel sends for it
// (MPTCP_ATTR_TOKEN, SADDR/SPORT, DADDR/DPORT, LOC_ID, REM_ID, BACKUP,
// ERROR, SERVER_SIDE).
type UserEvent struct {
	Kind UserEventKind
	Time time.Time
	// Token names the connection (0 for listener events).
	Token uint32
	// Server is set for connections this side accepted.
	Server bool
	// Local and Remote are the subflow's addresses (for CREATED and
	// ESTABLISHED, the initial subflow's); Remote alone for ANNOUNCED,
	// Local alone for listener events.
	Local, Remote     netip.AddrPort
	LocalID, RemoteID uint8
	Backup            bool
	// Err is why a subflow closed (SUB_CLOSED), nil for an orderly close.
	Err error
}

// String formats the event like `ip mptcp monitor`.
func (e UserEvent) String() string {
	s := fmt.Sprintf("[%s] token=%08x", e.Kind, e.Token)
	switch e.Kind {
	case UserListenerCreated, UserListenerClosed:
		return fmt.Sprintf("[%s] saddr=%v", e.Kind, e.Local)
	case UserAnnounced:
		return fmt.Sprintf("%s remid=%d daddr=%v", s, e.RemoteID, e.Remote)
	case UserRemoved:
		return fmt.Sprintf("%s remid=%d", s, e.RemoteID)
	}
	s += fmt.Sprintf(" locid=%d remid=%d saddr=%v daddr=%v", e.LocalID, e.RemoteID, e.Local, e.Remote)
	if e.Backup {
		s += " backup=1"
	}
	if e.Server {
		s += " server_side=1"
	}
	if e.Err != nil {
		s += fmt.Sprintf(" error=%q", e.Err.Error())
	}
	return s
}

// UserspaceConfig connects a userspace path manager to its controller.
type UserspaceConfig struct {
	// OnEvent receives every event, on the goroutine that drives the
	// stack. It may issue commands; those run as soon as OnEvent
	// returns.
	OnEvent func(UserEvent)
	// OnError receives commands that failed when they ran.
	OnError func(Command, error)
	// Wake, if set, is called after a command is queued from outside an
	// event, so the driver polls the stack soon (netsim's Host.Wake, a
	// link driver's Wake). Without it the command waits for the
	// connection's next poll.
	Wake func()
}

// Userspace is a path manager driven by an application or controller,
// after the kernel's userspace path manager (net/mptcp/pm_userspace.c)
// that mptcpd drives over netlink: it opens, announces and closes nothing
// by itself; it reports events, and carries out the commands Announce,
// Remove, SubflowCreate, SubflowDestroy and SetBackup, addressed by
// connection token. Commands are queued and run on the stack's goroutine
// at the connection's next event or poll, so a controller may issue them
// from any goroutine; failures go to OnError.
type Userspace struct {
	cfg       UserspaceConfig
	mu        sync.Mutex
	conns     map[uint32]*userspacePM
	nextToken uint32
}

// NewUserspace returns a userspace path manager; register its New under
// a name, or use "userspace" for one with no controller.
func NewUserspace(cfg UserspaceConfig) *Userspace {
	return &Userspace{cfg: cfg, conns: make(map[uint32]*userspacePM)}
}

// New returns the path manager of one connection: a Factory.
func (u *Userspace) New() PathManager { return &userspacePM{u: u} }

// Tokens returns the tokens of the connections alive, sorted.
func (u *Userspace) Tokens() []uint32 {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]uint32, 0, len(u.conns))
	for t := range u.conns {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// CommandOp is a userspace command, after the kernel's MPTCP_PM_CMD_*.
type CommandOp uint8

// The commands.
const (
	CmdAnnounce CommandOp = iota + 1
	CmdRemove
	CmdSubflowCreate
	CmdSubflowDestroy
	CmdSetFlags
)

var commandNames = [...]string{"", "ANNOUNCE", "REMOVE", "SUBFLOW_CREATE", "SUBFLOW_DESTROY", "SET_FLAGS"}

// String returns the kernel's name of the command.
func (o CommandOp) String() string {
	if int(o) < len(commandNames) && o != 0 {
		return commandNames[o]
	}
	return fmt.Sprintf("CommandOp(%d)", uint8(o))
}

// Command is one command to one connection.
type Command struct {
	Op    CommandOp
	Token uint32
	// Local is the local address: announced (ANNOUNCE, with its ID and
	// optional port), the source of a subflow (SUBFLOW_CREATE, its
	// Backup flag asks for a backup subflow). An ID of 0 for an address
	// other than the initial subflow's takes the host's ID for it.
	Local LocalAddr
	// ID is the local address ID to withdraw (REMOVE).
	ID uint8
	// LocalPort and Remote identify a subflow (SUBFLOW_DESTROY,
	// SET_FLAGS; a zero Remote in SET_FLAGS means every subflow from
	// Local.Addr) or give the peer address to connect to (SUBFLOW_CREATE).
	LocalPort uint16
	Remote    netip.AddrPort
	Backup    bool // SET_FLAGS
}

// ErrUnknownToken is returned for a command naming no live connection.
var ErrUnknownToken = errors.New("no connection with that token")

// Do queues cmd for its connection.
func (u *Userspace) Do(cmd Command) error {
	if cmd.Op < CmdAnnounce || cmd.Op > CmdSetFlags {
		return fmt.Errorf("pm: userspace: %w: unknown command %d", ErrParam, cmd.Op)
	}
	u.mu.Lock()
	p := u.conns[cmd.Token]
	if p == nil {
		u.mu.Unlock()
		return fmt.Errorf("pm: userspace %s: %w %08x", cmd.Op, ErrUnknownToken, cmd.Token)
	}
	p.queue = append(p.queue, cmd)
	inEvent := p.inEvent > 0
	u.mu.Unlock()
	if !inEvent && u.cfg.Wake != nil {
		u.cfg.Wake()
	}
	return nil
}

// Announce sends ADD_ADDR for a on connection token.
func (u *Userspace) Announce(token uint32, a LocalAddr) error {
	return u.Do(Command{Op: CmdAnnounce, Token: token, Local: a})
}

// Remove sends REMOVE_ADDR for local address id and closes its subflows.
func (u *Userspace) Remove(token uint32, id uint8) error {
	return u.Do(Command{Op: CmdRemove, Token: token, ID: id})
}

// SubflowCreate opens a subflow from local to remote.
func (u *Userspace) SubflowCreate(token uint32, local LocalAddr, remote netip.AddrPort) error {
	return u.Do(Command{Op: CmdSubflowCreate, Token: token, Local: local, Remote: remote})
}

// SubflowDestroy closes the subflow from local to remote.
func (u *Userspace) SubflowDestroy(token uint32, local, remote netip.AddrPort) error {
	return u.Do(Command{Op: CmdSubflowDestroy, Token: token, Local: LocalAddr{Addr: local.Addr()}, LocalPort: local.Port(), Remote: remote})
}

// SetBackup changes the backup flag of the subflow from local to remote
// (MP_PRIO); a zero remote changes every subflow from local's address.
func (u *Userspace) SetBackup(token uint32, local, remote netip.AddrPort, backup bool) error {
	return u.Do(Command{Op: CmdSetFlags, Token: token, Local: LocalAddr{Addr: local.Addr()}, LocalPort: local.Port(), Remote: remote, Backup: backup})
}

// ListenerCreated implements ListenerObserver: LISTENER_CREATED.
func (u *Userspace) ListenerCreated(now time.Time, addr netip.AddrPort) {
	u.emit(UserEvent{Kind: UserListenerCreated, Time: now, Local: addr})
}

// ListenerClosed implements ListenerObserver: LISTENER_CLOSED.
func (u *Userspace) ListenerClosed(now time.Time, addr netip.AddrPort) {
	u.emit(UserEvent{Kind: UserListenerClosed, Time: now, Local: addr})
}

func (u *Userspace) emit(ev UserEvent) {
	if u.cfg.OnEvent != nil {
		u.cfg.OnEvent(ev)
	}
}

// userspacePM is the userspace path manager of one connection.
type userspacePM struct {
	u       *Userspace
	token   uint32
	known   bool // registered under token
	created bool // CREATED reported
	dead    bool
	server  bool
	inEvent int // >0 while OnEvent runs: commands run when it returns
	queue   []Command
}

// Name implements PathManager.
func (*userspacePM) Name() string { return "userspace" }

// register gives the connection its token on first contact.
func (p *userspacePM) register(c Conn) {
	if p.known {
		return
	}
	p.server = c.Server()
	u := p.u
	u.mu.Lock()
	if t, ok := c.(Tokener); ok {
		p.token = t.Token()
	} else {
		u.nextToken++
		p.token = u.nextToken
	}
	u.conns[p.token] = p
	u.mu.Unlock()
	p.known = true
}

// Event implements PathManager.
func (p *userspacePM) Event(now time.Time, c Conn, ev Event) {
	if p.dead {
		return
	}
	p.register(c)
	base := UserEvent{Time: now, Token: p.token, Server: p.server}
	if !p.created && (ev.Kind == Created || ev.Kind == Established) {
		p.created = true
		e := base
		e.Kind = UserCreated
		p.initialAddrs(c, &e)
		p.report(e)
		if ev.Kind == Created {
			p.run(now, c)
			return
		}
	}
	e := base
	switch ev.Kind {
	case Established:
		e.Kind = UserEstablished
		p.initialAddrs(c, &e)
	case Closed:
		e.Kind = UserClosed
		p.forget()
	case FellBack:
		p.forget()
		return
	case Announced:
		e.Kind, e.Remote, e.RemoteID = UserAnnounced, ev.Remote.AddrPort, ev.Remote.ID
	case Removed:
		e.Kind, e.RemoteID = UserRemoved, ev.RemoteID
	case SubEstablished, SubClosed, SubPriority:
		e.Kind = map[EventKind]UserEventKind{SubEstablished: UserSubEstablished, SubClosed: UserSubClosed, SubPriority: UserSubPriority}[ev.Kind]
		s := ev.Subflow
		e.Local, e.Remote, e.LocalID, e.RemoteID, e.Backup, e.Err = s.Local, s.Remote, s.LocalID, s.RemoteID, s.Backup, ev.Err
	default:
		p.run(now, c)
		return // no kernel event for the others
	}
	p.report(e)
	if !p.dead {
		p.run(now, c)
	}
}

func (p *userspacePM) initialAddrs(c Conn, e *UserEvent) {
	for _, s := range c.Subflows() {
		if s.Initial {
			e.Local, e.Remote, e.LocalID, e.RemoteID, e.Backup = s.Local, s.Remote, s.LocalID, s.RemoteID, s.Backup
		}
	}
}

// report hands e to the controller; commands it issues wait until it
// returns.
func (p *userspacePM) report(e UserEvent) {
	p.u.mu.Lock()
	p.inEvent++
	p.u.mu.Unlock()
	p.u.emit(e)
	p.u.mu.Lock()
	p.inEvent--
	p.u.mu.Unlock()
}

func (p *userspacePM) forget() {
	p.dead = true
	p.u.mu.Lock()
	if p.known && p.u.conns[p.token] == p {
		delete(p.u.conns, p.token)
	}
	p.queue = nil
	p.u.mu.Unlock()
}

// Pending implements Inbox: commands wait to run.
func (p *userspacePM) Pending() bool {
	p.u.mu.Lock()
	defer p.u.mu.Unlock()
	return len(p.queue) > 0 && !p.dead
}

// Poll implements PathManager: run queued commands.
func (p *userspacePM) Poll(now time.Time, c Conn) time.Time {
	if !p.dead {
		p.register(c)
		p.run(now, c)
	}
	return time.Time{}
}

// run carries out the queued commands, without holding the lock: a
// command may cause events (a subflow closing) that come back here.
func (p *userspacePM) run(now time.Time, c Conn) {
	for {
		p.u.mu.Lock()
		if len(p.queue) == 0 || p.dead {
			p.u.mu.Unlock()
			return
		}
		cmd := p.queue[0]
		p.queue = p.queue[1:]
		p.u.mu.Unlock()
		if err := p.exec(c, cmd); err != nil && p.u.cfg.OnError != nil {
			p.u.cfg.OnError(cmd, fmt.Errorf("pm: userspace %s: %w", cmd.Op, err))
		}
	}
}

func (p *userspacePM) exec(c Conn, cmd Command) error {
	switch cmd.Op {
	case CmdAnnounce:
		a, err := localWithID(c, cmd.Local)
		if err != nil {
			return err
		}
		return c.Announce(a)
	case CmdRemove:
		return c.Withdraw(cmd.ID)
	case CmdSubflowCreate:
		l, err := localWithID(c, cmd.Local)
		if err != nil {
			return err
		}
		l.Port = 0
		for _, r := range c.RemoteAddrs() {
			if r.AddrPort == cmd.Remote {
				return c.Connect(l, r, l.Backup)
			}
		}
		return fmt.Errorf("%w: %v is not an address the peer uses or announced", ErrNotFound, cmd.Remote)
	case CmdSubflowDestroy, CmdSetFlags:
		found := false
		for _, s := range c.Subflows() {
			if s.Local.Addr() != cmd.Local.Addr || (cmd.LocalPort != 0 && s.Local.Port() != cmd.LocalPort) {
				continue
			}
			if cmd.Remote.IsValid() && s.Remote != cmd.Remote {
				continue
			}
			found = true
			var err error
			if cmd.Op == CmdSubflowDestroy {
				err = c.CloseSubflow(s.ID)
			} else {
				err = c.SetBackup(s.ID, cmd.Backup)
			}
			if err != nil {
				return err
			}
		}
		if !found {
			return fmt.Errorf("%w: no subflow %v -> %v", ErrNotFound, netip.AddrPortFrom(cmd.Local.Addr, cmd.LocalPort), cmd.Remote)
		}
		return nil
	}
	return fmt.Errorf("%w: unknown command %d", ErrParam, cmd.Op)
}

// localWithID fills in the host's address ID for a, which must be an
// address of the host.
func localWithID(c Conn, a LocalAddr) (LocalAddr, error) {
	a.Addr = a.Addr.Unmap()
	for _, l := range c.LocalAddrs() {
		if l.Addr != a.Addr {
			continue
		}
		if a.ID == 0 {
			a.ID = l.ID
		}
		return a, nil
	}
	return a, fmt.Errorf("%w: %v is not an address of this host", ErrNotFound, a.Addr)
}
