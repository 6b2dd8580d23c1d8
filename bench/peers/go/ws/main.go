// bench/peers/go/ws: go-ws, the Go peer of corio-bench's `ws` (bench/b_ws.c): a WebSocket
// echo server written as a Go programmer writes one with what Debian packages
// (golang.org/x/net/websocket, golang-golang-x-net-dev; gorilla/websocket is not in
// Debian): net/http serving one handler, one goroutine per connection receiving each
// message whole and sending it back with its type (text or binary). Same command line as
// the other peers (bench/peers/go/serve):
//
//	go-ws PORT [THREADS]
//
// Binds 127.0.0.1:PORT and serves every path until SIGTERM or SIGINT (exit 0). THREADS
// sets GOMAXPROCS. x/net/websocket's Handler refuses requests without an Origin header
// (browsers' cross-site protection); a benchmark client sends none, so the handshake check
// is replaced by one that accepts every request, as a server for non-browser clients does.
//
// Built in GOPATH mode (GO111MODULE=off) against Debian's /usr/share/gocode, not in the
// module of the other peers, which stays free of dependencies (cmake/peers_go.cmake).
package main

import (
	"net/http"

	"golang.org/x/net/websocket"

	"corio.bench/peers/serve"
)

const usage = "usage: go-ws PORT [THREADS]"

// A message and its frame type (websocket.TextFrame or BinaryFrame).
type message struct {
	data []byte
	kind byte
}

// A codec that keeps the type: x/net's Message codec picks it from the Go type instead.
var echoCodec = websocket.Codec{
	Marshal: func(v interface{}) ([]byte, byte, error) {
		m := v.(*message)
		return m.data, m.kind, nil
	},
	Unmarshal: func(data []byte, kind byte, v interface{}) error {
		m := v.(*message)
		m.data, m.kind = data, kind
		return nil
	},
}

func echo(ws *websocket.Conn) {
	defer ws.Close()
	var m message
	for {
		if err := echoCodec.Receive(ws, &m); err != nil {
			return
		}
		if err := echoCodec.Send(ws, &m); err != nil {
			return
		}
	}
}

func main() {
	ln := serve.Listen("go-ws", serve.ServerArgs("go-ws", usage))
	srv := websocket.Server{
		Handler:   echo,
		Handshake: func(*websocket.Config, *http.Request) error { return nil },
	}
	if err := http.Serve(ln, srv); err != nil {
		serve.Fail("go-ws", "serve: %v", err)
	}
}
