//go:build linux

package emu

import (
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// resetOnFork is set on every thread this package moves out of the
// default scheduling class: a child process (a compiler, a test's helper
// process, iperf3) started from such a thread starts in the normal class
// instead of inheriting SCHED_FIFO. A Go program running entirely in
// SCHED_FIFO on few CPUs can livelock: a thread spinning in the runtime
// (the background sweeper yielding to itself) keeps the CPU from the
// thread it waits for, which the kernel never preempts at equal real-time
// priority. Seen as two `mptcp sim` children of a test spinning at 100 %
// for half an hour, and as `go build` processes that never finished.
const resetOnFork = unix.SCHED_FLAG_RESET_ON_FORK

// RealtimeProcess puts every thread of the process that is in the normal
// scheduling class into SCHED_FIFO at priority prio (1 to 49, below the
// loops' 50), now and every 50 ms for threads created later, until the
// returned function is called, which puts them back.
//
// Why: a loop thread is locked to its goroutine, and whenever the Go
// scheduler preempts that goroutine (it does so after 10 ms without a
// reschedule, whatever the thread's priority), another thread of the
// process must run the scheduler to hand the goroutine back. On a busy
// machine that thread, in the normal class, waits behind other processes
// for tens of milliseconds, and the emulated link stalls with it (measured:
// send lateness up to 64-128 ms at 100 Mbit/s with a load average of 12 on
// two CPUs; below 8 ms with this). It suits a process that does little
// besides emulating, such as mptcp emu; in a process with CPU-hungry
// goroutines (a user-space stack under test) those would run in the
// real-time class too, ahead of every normal task on the machine.
//
// Every raised thread carries resetOnFork, so that nothing the process
// starts inherits the real-time class.
func RealtimeProcess(prio int) (restore func()) {
	prio = min(max(prio, 1), 49)
	var mu sync.Mutex
	raised := map[int]bool{}
	raise := func() {
		ents, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, e := range ents {
			tid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			a, err := unix.SchedGetAttr(tid, 0)
			if err != nil || a.Policy != unix.SCHED_NORMAL {
				continue // a loop, already real-time, or gone
			}
			if unix.SchedSetAttr(tid, &unix.SchedAttr{Policy: unix.SCHED_FIFO, Flags: resetOnFork, Priority: uint32(prio)}, 0) == nil {
				raised[tid] = true
			}
		}
	}
	raise()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				raise()
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-done
			mu.Lock()
			defer mu.Unlock()
			for tid := range raised {
				// Only threads still as this left them: a loop may
				// have taken one over since.
				if a, err := unix.SchedGetAttr(tid, 0); err == nil && a.Policy == unix.SCHED_FIFO && a.Priority == uint32(prio) {
					_ = unix.SchedSetAttr(tid, &unix.SchedAttr{Policy: unix.SCHED_NORMAL}, 0)
				}
			}
		})
	}
}
