// bench/peers/go/serve: what the Go peers' command lines and servers share: the usage
// errors (exit 2), `PORT [THREADS]` (THREADS sets GOMAXPROCS), a clean exit 0 on SIGTERM or
// SIGINT (corio-bench stops its servers with SIGTERM; Go's default is to die of it), and the
// listener on 127.0.0.1 (exit 1 with the reason when the port is taken).
package serve

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
)

// BadArgs prints why and the usage line, then exits 2.
func BadArgs(prog, usage, why string) {
	fmt.Fprintf(os.Stderr, "%s: %s\n%s\n", prog, why, usage)
	os.Exit(2)
}

// Fail prints the reason and exits 1.
func Fail(prog, format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, prog+": "+format+"\n", a...)
	os.Exit(1)
}

// ServerArgs parses `PORT [THREADS]` from os.Args, applies THREADS to GOMAXPROCS, and
// returns PORT.
func ServerArgs(prog, usage string) int {
	args := os.Args[1:]
	if len(args) < 1 || len(args) > 2 {
		BadArgs(prog, usage, "wrong number of arguments")
	}
	port, err := strconv.Atoi(args[0])
	if err != nil || port < 1 || port > 65535 {
		BadArgs(prog, usage, fmt.Sprintf("PORT must be 1..65535, not %q", args[0]))
	}
	if len(args) == 2 {
		threads, err := strconv.Atoi(args[1])
		if err != nil || threads < 1 {
			BadArgs(prog, usage,
				fmt.Sprintf("THREADS must be an integer >= 1, not %q", args[1]))
		}
		runtime.GOMAXPROCS(threads)
	}
	return port
}

// Listen exits 0 on SIGTERM/SIGINT from now on, and listens on 127.0.0.1:port.
func Listen(prog string, port int) net.Listener {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		os.Exit(0)
	}()
	ln, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		Fail(prog, "%v", err)
	}
	return ln
}
