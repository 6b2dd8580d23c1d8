#!/usr/bin/env node
// bench/peers/node/http.js: the Node.js peer of corio-bench's `http_server`
// (bench/b_http_server.c): the hello-world server a Node programmer writes with the core
// `http` module, answering what corio's server and nginx answer there (bench/http_common.h).
//
//     node http.js PORT THREADS
//
//     GET /hello    200, "hello world\n" (12 bytes, Content-Type text/plain), from memory;
//                   HTTP/1.1 keep-alive (node adds Date and Connection: keep-alive)
//     other paths   404
//
// Binds 127.0.0.1:PORT and serves until SIGTERM or SIGINT, which end it at once with exit
// status 0. THREADS is accepted (an integer >= 1, default 1) and ignored beyond 1: Node runs
// JavaScript on one thread, one event loop (corio-bench passes 1, as corio's server is one
// loop and nginx one worker). Exit status 1 when it cannot listen (the port is taken: the
// reason on stderr), 2 on bad arguments.
//
// keepAliveTimeout 0: a keep-alive connection stays open as long as the client wants, as in
// nginx's benchmark config (unlimited keep-alive) and corio's server; Node's default closes
// one that has been idle for 5 s.
'use strict';

const http = require('node:http');

const USAGE = 'usage: node http.js PORT THREADS';
const HELLO = Buffer.from('hello world\n');
const NOT_FOUND = Buffer.from('404 not found\n');

function badArgs(why) {
	console.error(`http.js: ${why}\n${USAGE}`);
	process.exit(2);
}

function intArg(s, what, min, max) {
	if (!/^[0-9]+$/.test(s) || Number(s) < min || Number(s) > max)
		badArgs(`${what} must be an integer in ${min}..${max}, not '${s}'`);
	return Number(s);
}

function handler(req, res) {
	const q = req.url.indexOf('?');
	const body = (q < 0 ? req.url : req.url.slice(0, q)) === '/hello' ? HELLO : NOT_FOUND;

	res.writeHead(body === HELLO ? 200 : 404,
		{ 'Content-Type': 'text/plain', 'Content-Length': body.length });
	res.end(req.method === 'HEAD' ? undefined : body);
}

function main() {
	const args = process.argv.slice(2);
	if (args.length < 1 || args.length > 2)
		badArgs('wrong number of arguments');
	const port = intArg(args[0], 'PORT', 1, 65535);
	if (args.length === 2)
		intArg(args[1], 'THREADS', 1, 1 << 16); // checked, then ignored: see above

	const server = http.createServer(handler);
	server.keepAliveTimeout = 0;
	server.on('error', (e) => {
		console.error(`http.js: listen 127.0.0.1:${port}: ${e.message}`);
		process.exit(1);
	});
	process.on('SIGTERM', () => process.exit(0));
	process.on('SIGINT', () => process.exit(0));
	server.listen({ host: '127.0.0.1', port, backlog: 4096 });
}

main();
