// bench/peers/go/http: go-http, the Go net/http peer of corio-bench's `http_server`
// (bench/b_http_server.c): the hello-world server a Go programmer writes with net/http,
// answering what corio's server and nginx answer there (bench/http_common.h).
//
//	go-http PORT THREADS
//
//	GET /hello   200, "hello world\n" (12 bytes, Content-Type text/plain), from memory;
//	             HTTP/1.1 keep-alive (net/http adds Date, and Content-Length is set)
//	other paths  404
//
// Binds 127.0.0.1:PORT and serves until SIGTERM or SIGINT, which end it at once with exit
// status 0 (Go's default for SIGTERM is to die of the signal; corio-bench stops its servers
// with SIGTERM, and a clean stop is exit 0). THREADS sets GOMAXPROCS, the number of threads
// running goroutines at a time (corio-bench passes 1: corio's server is one loop, nginx
// one worker; without it, the runtime's default: the CPUs this process may run on). Exit status 1 when it cannot listen (the port is taken: the reason on
// stderr), 2 on bad arguments.
//
// net/http's defaults otherwise: a goroutine per connection, no timeouts (a keep-alive
// connection stays open as long as the client wants, as in nginx's benchmark config). Plain
// HTTP/1.1 only, so HTTP/2 does not come into it.
package main

import (
	"net/http"
	"strconv"

	"corio.bench/peers/serve"
)

const usage = "usage: go-http PORT [THREADS]"

var hello = []byte("hello world\n")
var helloLen = strconv.Itoa(len(hello))

func handler(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/hello" {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain")
	h.Set("Content-Length", helloLen)
	if r.Method != http.MethodHead {
		w.Write(hello)
	}
}

func main() {
	ln := serve.Listen("go-http", serve.ServerArgs("go-http", usage))
	srv := &http.Server{Handler: http.HandlerFunc(handler)}
	serve.Fail("go-http", "serve: %v", srv.Serve(ln))
}
