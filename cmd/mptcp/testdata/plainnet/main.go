// Command plainnet is a test program for "mptcp run": it opens its sockets
// with plain net.Listen and net.Dial, as any Go program does, and reports
// which protocol the kernel gave them (SO_PROTOCOL: 6 TCP, 262 MPTCP).
//
//	plainnet listen ADDR        accept connections and echo a line (answer
//	                            an HTTP GET with a small page); print each
//	                            protocol
//	plainnet dial ADDR...       to each ADDR in turn, from a thread other
//	                            than the main one: send a line, read it
//	                            back, print the protocol and whether the
//	                            descriptor is non-blocking and close-on-exec
//	plainnet both LISTEN DIAL   listen on LISTEN, dial DIAL as above, then
//	                            echo one connection accepted on LISTEN
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"syscall"
)

func protocol(c syscall.Conn) int {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1
	}
	p := -1
	rc.Control(func(fd uintptr) {
		p, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_PROTOCOL)
	})
	return p
}

// fdFlags describes the descriptor's O_NONBLOCK and FD_CLOEXEC flags.
func fdFlags(c syscall.Conn) string {
	rc, err := c.SyscallConn()
	if err != nil {
		return "?"
	}
	s := "blocking"
	rc.Control(func(fd uintptr) {
		fl, _, _ := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
		if fl&syscall.O_NONBLOCK != 0 {
			s = "nonblock"
		}
		fdfl, _, _ := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFD, 0)
		if fdfl&syscall.FD_CLOEXEC != 0 {
			s += " cloexec"
		}
	})
	return s
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

func listen(addr string) net.Listener {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fail(err)
	}
	fmt.Printf("listen protocol %d\n", protocol(ln.(*net.TCPListener)))
	return ln
}

func accept(ln net.Listener) net.Conn {
	c, err := ln.Accept()
	if err != nil {
		fail(err)
	}
	fmt.Printf("accept protocol %d\n", protocol(c.(*net.TCPConn)))
	return c
}

// echo answers one line, or an HTTP GET: enough HTTP for curl and wget
// (read the request's header, answer, and let the close end the body).
func echo(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	line, _ := r.ReadString('\n')
	if strings.HasPrefix(line, "GET ") {
		for h := line; h != "\r\n" && h != "\n"; {
			var err error
			if h, err = r.ReadString('\n'); err != nil {
				return
			}
		}
		line = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello\n"
	}
	c.Write([]byte(line))
}

func dial(addr string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		fail(err)
	}
	defer c.Close()
	fmt.Printf("dial protocol %d %s %s\n", protocol(c.(*net.TCPConn)), fdFlags(c.(*net.TCPConn)), addr)
	fmt.Fprintln(c, "hello")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "hello\n" {
		fail(fmt.Errorf("echo: %q %v", line, err))
	}
}

// The main goroutine keeps the main thread, so that others run elsewhere.
func init() { runtime.LockOSThread() }

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: plainnet listen ADDR | dial ADDR... | both LISTEN DIAL")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "listen":
		ln := listen(os.Args[2])
		for {
			go echo(accept(ln))
		}
	case "dial":
		// From a thread other than the main one, as a Go program's
		// goroutines often are: the thread id is not the process id.
		done := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			for _, a := range os.Args[2:] {
				dial(a)
			}
			close(done)
		}()
		<-done
	case "both":
		if len(os.Args) != 4 {
			fail(fmt.Errorf("usage: plainnet both LISTEN DIAL"))
		}
		ln := listen(os.Args[2])
		dial(os.Args[3])
		echo(accept(ln))
	}
}
