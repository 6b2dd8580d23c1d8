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
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

const usage = "usage: go-echo PORT [THREADS]"

func badArgs(why string) {
	fmt.Fprintf(os.Stderr, "go-echo: %s\n%s\n", why, usage)
	os.Exit(2)
}

func serve(c net.Conn) {
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
	args := os.Args[1:]
	if len(args) < 1 || len(args) > 2 {
		badArgs("wrong number of arguments")
	}
	port, err := strconv.Atoi(args[0])
	if err != nil || port < 1 || port > 65535 {
		badArgs(fmt.Sprintf("PORT must be 1..65535, not %q", args[0]))
	}
	if len(args) == 2 {
		threads, err := strconv.Atoi(args[1])
		if err != nil || threads < 1 {
			badArgs(fmt.Sprintf("THREADS must be an integer >= 1, not %q", args[1]))
		}
		runtime.GOMAXPROCS(threads)
	}

	// Go's default for SIGTERM is to die of it; corio-bench stops its servers with SIGTERM
	// and a clean stop is exit 0.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		os.Exit(0)
	}()

	ln, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-echo: %v\n", err)
		os.Exit(1)
	}
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
			fmt.Fprintf(os.Stderr, "go-echo: accept: %v\n", err)
			os.Exit(1)
		}
		backoff = 0
		go serve(c)
	}
}
