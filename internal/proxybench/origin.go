package proxybench

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// origin is the destination server of the benchmark: HTTP on one port
// (GET /bytes/N, GET /stream/SECONDS, POST /sink) and a line echo on
// another (the interactive session).
type origin struct {
	http *http.Server
	echo net.Listener
}

// sinkResult is what POST /sink answers: what the origin received, timed
// from its first byte.
type sinkResult struct {
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
}

var block = make([]byte, 64<<10)

func newOrigin(httpL, echoL net.Listener) *origin {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bytes/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil || n < 0 {
			http.Error(w, "bad size", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(n))
		for n > 0 {
			k, err := w.Write(block[:min(n, len(block))])
			if err != nil {
				return
			}
			n -= k
		}
	})
	mux.HandleFunc("GET /stream/{s}", func(w http.ResponseWriter, r *http.Request) {
		s, err := strconv.ParseFloat(r.PathValue("s"), 64)
		if err != nil || s <= 0 || s > 600 {
			http.Error(w, "bad duration", http.StatusBadRequest)
			return
		}
		end := time.Now().Add(time.Duration(s * float64(time.Second)))
		for time.Now().Before(end) {
			if _, err := w.Write(block); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("POST /sink", func(w http.ResponseWriter, r *http.Request) {
		br := bufio.NewReaderSize(r.Body, 64<<10)
		if _, err := br.Peek(1); err != nil {
			http.Error(w, "empty", http.StatusBadRequest)
			return
		}
		start := time.Now()
		n, _ := io.Copy(io.Discard, br)
		_ = json.NewEncoder(w).Encode(sinkResult{Bytes: n, Seconds: time.Since(start).Seconds()})
	})
	o := &origin{http: &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second}, echo: echoL}
	go o.http.Serve(httpL)
	go o.serveEcho()
	return o
}

// serveEcho echoes each line back in capitals (so an echo is told from
// a line that looped back before the origin).
func (o *origin) serveEcho() {
	for {
		c, err := o.echo.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			r := bufio.NewReader(c)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if _, err := io.WriteString(c, strings.ToUpper(line)); err != nil {
					return
				}
			}
		}()
	}
}

func (o *origin) close() {
	o.http.Close()
	o.echo.Close()
}
