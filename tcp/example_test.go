package tcp_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/mptcp-go/mptcp/tcp"
)

// Example drives two stacks by hand: each Poll's packets are handed to the
// other stack with Deliver, as a driver (the simulator, a TUN device) does.
func Example() {
	client, _ := tcp.NewStack(tcp.Config{Rand: rand.New(rand.NewPCG(1, 2))})
	server, _ := tcp.NewStack(tcp.Config{Rand: rand.New(rand.NewPCG(3, 4))})
	ca, sa := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	client.AddAddress(ca)
	server.AddAddress(sa)

	l, _ := server.Listen(netip.AddrPortFrom(sa, 80), nil)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c, _ := client.Dial(now, netip.AddrPortFrom(sa, 80), nil)

	// One round trip per step, no delay: enough for a demonstration.
	step := func() {
		var toServer, toClient [][]byte
		client.Poll(now, func(p []byte) { toServer = append(toServer, append([]byte(nil), p...)) })
		for _, p := range toServer {
			server.Deliver(now, p)
		}
		server.Poll(now, func(p []byte) { toClient = append(toClient, append([]byte(nil), p...)) })
		for _, p := range toClient {
			client.Deliver(now, p)
		}
		now = now.Add(time.Millisecond)
	}
	step() // SYN, SYN/ACK
	step() // ACK
	sc, _ := l.Accept()
	c.Write([]byte("hello, server"))
	c.CloseWrite()
	step()
	buf := make([]byte, 64)
	n, _ := sc.Read(buf)
	_, err := sc.Read(buf)
	fmt.Printf("%s, then %v; client %v, server %v\n", buf[:n], err, c.State(), sc.State())
	// Output:
	// hello, server, then EOF; client FIN-WAIT-2, server CLOSE-WAIT
}
