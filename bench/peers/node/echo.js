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

const USAGE = 'usage: node echo.js PORT THREADS';

function badArgs(why) {
	console.error(`echo.js: ${why}\n${USAGE}`);
	process.exit(2);
}

function intArg(s, what, min, max) {
	if (!/^[0-9]+$/.test(s) || Number(s) < min || Number(s) > max)
		badArgs(`${what} must be an integer in ${min}..${max}, not '${s}'`);
	return Number(s);
}

function main() {
	const args = process.argv.slice(2);
	if (args.length < 1 || args.length > 2)
		badArgs('wrong number of arguments');
	const port = intArg(args[0], 'PORT', 1, 65535);
	if (args.length === 2)
		intArg(args[1], 'THREADS', 1, 1 << 16); // checked, then ignored: see above

	const server = net.createServer((sock) => {
		sock.setNoDelay(true);
		sock.on('error', () => sock.destroy()); // reset by the client: just drop it
		sock.pipe(sock);
	});
	server.on('error', (e) => {
		console.error(`echo.js: listen 127.0.0.1:${port}: ${e.message}`);
		process.exit(1);
	});
	process.on('SIGTERM', () => process.exit(0));
	process.on('SIGINT', () => process.exit(0));
	server.listen({ host: '127.0.0.1', port, backlog: 4096 });
}

main();
