#!/usr/bin/env node
// bench/peers/node/echo.js: the Node.js peer of corio-bench's `echo` (bench/b_echo.c): a TCP
// echo server on libuv's event loop, written as a Node programmer writes one: each
// connection's socket piped into itself (socket.pipe(socket): what arrives is written back,
// with backpressure; the end of the client's stream ends ours). Core modules only. Same
// command line as the epoll peer (bench/peers/c/echo_epoll.c):
//
//     node echo.js PORT THREADS
//
// Binds 127.0.0.1:PORT and serves until SIGTERM or SIGINT, which end it at once with exit
// status 0. THREADS is accepted (an integer >= 1, default 1) and ignored beyond 1: Node runs
// JavaScript on one thread, so this is one event loop whatever the other servers get; more
// loops would take more processes (node:cluster), which is not the runtime being compared.
// Exit status 1 when it cannot listen (the port is taken: the reason on stderr), 2 on bad
// arguments. TCP_NODELAY is set on every connection, as the other servers do.
'use strict';

const net = require('node:net');
const serve = require('./serve.js');

const USAGE = 'usage: node echo.js PORT THREADS';

function main() {
	const port = serve.serverArgs('echo.js', USAGE);

	const server = net.createServer((sock) => {
		sock.setNoDelay(true);
		sock.on('error', () => sock.destroy()); // reset by the client: just drop it
		sock.pipe(sock);
	});
	serve.listen(server, 'echo.js', port);
}

main();
