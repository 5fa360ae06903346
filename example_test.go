package mptcp_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"

	"github.com/mptcp-go/mptcp"
	"github.com/mptcp-go/mptcp/netsim"
	"github.com/mptcp-go/mptcp/scenario"
)

// simulated builds the simulator's "aggregate" network (a client with two
// paths to a server), puts a stack on each host and runs it in step with
// the clock until ctx is done.
func simulated(ctx context.Context) (client, server *mptcp.Stack, serverAddr netip.Addr) {
	sc, err := scenario.Builtin("aggregate")
	if err != nil {
		log.Fatal(err)
	}
	sim := netsim.New(sc.Seed)
	top, err := sc.Build(sim)
	if err != nil {
		log.Fatal(err)
	}
	rt := netsim.NewRealtime(sim)
	if client, err = mptcp.NewStack(mptcp.Config{}); err != nil {
		log.Fatal(err)
	}
	for _, a := range top.ClientAddrs { // one address per path
		client.AddAddress(a)
	}
	top.Client.SetStack(client.Link())
	if server, err = mptcp.NewStack(mptcp.Config{}); err != nil {
		log.Fatal(err)
	}
	server.AddAddress(top.ServerAddr)
	top.Server.SetStack(server.Link())
	go rt.Run(ctx)
	return client, server, top.ServerAddr
}

// An HTTP server and an HTTP client on two user-space stacks, the client
// with two paths: net/http runs unchanged on the Listener and the Dialer.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client, server, serverAddr := simulated(ctx)

	ln, err := server.Listen("tcp", ":80")
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello over MPTCP")
	}))

	d := &mptcp.Dialer{Stack: client}
	c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	resp, err := c.Get("http://" + netip.AddrPortFrom(serverAddr, 80).String() + "/")
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.Status, ": ", string(body))
	// Output: 200 OK: hello over MPTCP
}

// TLS on top of MPTCP: crypto/tls takes the stack's connections as any
// net.Conn (here through httptest's TLS server and its client).
func Example_tls() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client, server, serverAddr := simulated(ctx)

	ln, err := server.Listen("tcp", netip.AddrPortFrom(serverAddr, 443).String())
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s over MPTCP\n", r.Proto)
	}))
	srv.Listener = ln
	srv.StartTLS()
	defer srv.Close()

	c := srv.Client() // trusts the server's certificate
	tr := c.Transport.(*http.Transport)
	tr.DialContext = (&mptcp.Dialer{Stack: client}).DialContext
	tr.TLSClientConfig.ServerName = "example.com" // the name httptest's certificate holds
	resp, err := c.Get(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.TLS != nil, " ", string(body))
	// Output: true HTTP/1.1 over MPTCP
}
