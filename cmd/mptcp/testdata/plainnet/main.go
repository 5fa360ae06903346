// Command plainnet is a test program for "mptcp run": it opens its sockets
// with plain net.Listen and net.Dial, as any Go program does, and reports
// which protocol the kernel gave them (SO_PROTOCOL: 6 TCP, 262 MPTCP).
//
//	plainnet listen ADDR   accept connections and echo a line (answer an
//	                       HTTP GET with a small page); print each protocol
//	plainnet dial ADDR     send a line, read it back, print the protocol
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
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

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: plainnet listen|dial ADDR")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "listen":
		ln, err := net.Listen("tcp", os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("listen protocol %d\n", protocol(ln.(*net.TCPListener)))
		for {
			c, err := ln.Accept()
			if err != nil {
				os.Exit(1)
			}
			fmt.Printf("accept protocol %d\n", protocol(c.(*net.TCPConn)))
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				line, _ := r.ReadString('\n')
				if strings.HasPrefix(line, "GET ") {
					// Enough HTTP for curl and wget: read the request's
					// header, answer, and let the close end the body.
					for h := line; h != "\r\n" && h != "\n"; {
						var err error
						if h, err = r.ReadString('\n'); err != nil {
							return
						}
					}
					line = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello\n"
				}
				c.Write([]byte(line))
			}()
		}
	case "dial":
		c, err := net.Dial("tcp", os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("dial protocol %d\n", protocol(c.(*net.TCPConn)))
		fmt.Fprintln(c, "hello")
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || line != "hello\n" {
			fmt.Fprintf(os.Stderr, "echo: %q %v\n", line, err)
			os.Exit(1)
		}
	}
}
