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
const serve = require('./serve.js');

const USAGE = 'usage: node http.js PORT THREADS';
const HELLO = Buffer.from('hello world\n');
const NOT_FOUND = Buffer.from('404 not found\n');

function handler(req, res) {
	const q = req.url.indexOf('?');
	const body = (q < 0 ? req.url : req.url.slice(0, q)) === '/hello' ? HELLO : NOT_FOUND;

	res.writeHead(body === HELLO ? 200 : 404,
		{ 'Content-Type': 'text/plain', 'Content-Length': body.length });
	res.end(req.method === 'HEAD' ? undefined : body);
}

function main() {
	const port = serve.serverArgs('http.js', USAGE);

	const server = http.createServer(handler);
	server.keepAliveTimeout = 0;
	serve.listen(server, 'http.js', port);
}

main();
