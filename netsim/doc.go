// Package netsim is a deterministic discrete-event network simulator in
// which real, sans-I/O network stacks run in virtual time.
//
// # Model
//
// A Sim holds a virtual clock and an event queue. Hosts and Routers are
// nodes; each has Interfaces with IPv4 and IPv6 addresses; a Link joins two
// interfaces point to point and has one Pipe per direction. A pipe is, in
// order: a chain of middleboxes (Processor), a drop-tail queue limited in
// packets or bytes, a transmitter of finite rate (each packet occupies it
// for len*8/Rate, so queues build behind a bottleneck as they do on a real
// one), and a wire with propagation delay, random or bursty
// (Gilbert-Elliott) loss, bit corruption, jitter, reordering and
// duplication. A pipe can be brought down and up, and have its rate, delay
// or loss changed, at scheduled times; going down loses everything queued
// and in flight.
//
// A Host runs a Stack: it hands the stack each packet addressed to it
// (Deliver) and then polls it (Poll) for packets to send and for the time it
// next wants to run. A packet leaves by the interface that owns its source
// address, so a multihomed stack chooses a path by choosing a source. A
// Router forwards by longest-prefix match over static routes, decrementing
// the TTL or hop limit; the pipe of each output interface is that
// interface's queue, so flows routed the same way share it.
//
// Time starts at Epoch (2026-01-01T00:00:00Z) in every run, so timestamps,
// and the captures that hold them, do not depend on when a run happened.
// Nothing in the package reads the wall clock or starts a goroutine:
// Run, RunUntil and RunFor execute events one at a time on the caller's
// goroutine, in order of time and, for equal times, in the order they were
// scheduled.
//
// # Determinism
//
// All randomness derives from the seed given to New, through streams named
// after the component that draws from them (a pipe's loss stream is named
// after the pipe, for example). The same scenario with the same seed
// therefore delivers the same packets at the same virtual times, and writes
// byte-identical captures; and adding a link or host does not change the
// random draws of the others. Stacks get their own streams from Host.Rand.
// The guarantee holds as long as the scenario itself is deterministic: the
// stacks, processors and callbacks must draw only from those streams and
// must not depend on map iteration order or the wall clock.
//
// # Captures
//
// Any interface (Interface.Capture: what the node sends and receives, as
// tcpdump on that interface) or pipe direction (Pipe.Capture, at AtEnqueue
// or AtDelivery) can be written to a pcap file with the project's pcap
// package, with virtual timestamps.
//
// # Performance
//
// Packets live in pooled buffers from the moment they enter the network
// until they are delivered or dropped, and are copied once (when a stack
// sends them). Each pipe keeps two timers (transmitter and next arrival)
// whatever the number of packets in it, and timers are entries of an
// intrusive heap, so the event queue stays small and a steady-state run
// allocates nothing per packet.
//
// # Example
//
//	s := netsim.New(1)
//	a, _ := s.NewHost("a")
//	b, _ := s.NewHost("b")
//	ia, _ := a.AddInterface("eth0", netip.MustParsePrefix("10.0.0.1/24"))
//	ib, _ := b.AddInterface("eth0", netip.MustParsePrefix("10.0.0.2/24"))
//	link, _ := s.Connect(ia, ib, netsim.PipeConfig{
//		Rate:         100e6,                 // 100 Mbit/s
//		Delay:        20 * time.Millisecond, // 40 ms RTT
//		QueueBytes:   500_000,               // one BDP
//		Loss:         0.01,
//	})
//	link.Schedule(netsim.Epoch.Add(10*time.Second), netsim.Down())
//	link.Schedule(netsim.Epoch.Add(12*time.Second), netsim.Up())
//	w, _ := pcap.NewWriter(file)
//	ia.Capture(w)
//	a.SetStack(clientStack) // anything implementing netsim.Stack
//	b.SetStack(serverStack)
//	s.RunFor(60 * time.Second)
package netsim
