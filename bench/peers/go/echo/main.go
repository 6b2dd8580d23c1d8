// bench/peers/go/echo: go-echo, the Go peer of corio-bench's `echo` (bench/b_echo.c): a TCP
// echo server written as a Go programmer writes one, one goroutine per connection reading
// into a 16 KiB buffer and writing back what it read, on one listener; the runtime's
// netpoller (epoll) and scheduler do the rest. Same command line as the epoll peer
// (bench/peers/c/echo_epoll.c):
//
//	go-echo PORT [THREADS]
//
// Binds 127.0.0.1:PORT and serves until SIGTERM or SIGINT, which end it at once with exit
// status 0. THREADS sets GOMAXPROCS, the number of threads running goroutines at a time
// (default: the runtime's, the CPUs this process may run on). Exit status 1 when it cannot
// listen (the port is taken: the reason on stderr), 2 on bad arguments.
//
// One listener rather than one SO_REUSEPORT listener per thread as in the C peers: Go's
// accept loop runs on whichever thread is free and hands the connection to a goroutine any
// P may run, which is what a Go server does. TCP_NODELAY is Go's default for TCP
// connections, as the other servers set it.
package main

import (
	"errors"
	"net"
	"time"

	"corio.bench/peers/serve"
)

const usage = "usage: go-echo PORT [THREADS]"

func echo(c net.Conn) {
	buf := make([]byte, 16384)

	defer c.Close()
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func main() {
	ln := serve.Listen("go-echo", serve.ServerArgs("go-echo", usage))
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			// Out of fds or memory for a moment (EMFILE, ENFILE, ENOBUFS...): wait and
			// go on, as net/http's server does; anything else ends the server.
			var ne net.Error
			if errors.As(err, &ne) && ne.Temporary() { //nolint:staticcheck // as net/http does
				if backoff = backoff * 2; backoff == 0 {
					backoff = 5 * time.Millisecond
				} else if backoff > time.Second {
					backoff = time.Second
				}
				time.Sleep(backoff)
				continue
			}
			serve.Fail("go-echo", "accept: %v", err)
		}
		backoff = 0
		go echo(c)
	}
}
