#!/usr/bin/env node
// bench/peers/node/ws_echo.js: the Node.js peer of corio-bench's `ws` (bench/b_ws.c): the
// WebSocket echo server a Node programmer writes with the `ws` package (the npm registry's;
// scripts/deps.sh installs it into build/npm and corio-bench hands that node_modules over as
// NODE_PATH): every message sent back with its type, on every path.
//
//     node ws_echo.js PORT THREADS
//
// Binds 127.0.0.1:PORT and serves until SIGTERM or SIGINT (exit 0). THREADS is checked and
// ignored beyond 1: one event loop (serve.js). permessage-deflate off (ws's default for a
// server is to accept it; corio's load generator offers none anyway), no payload limit
// below ws's default 100 MiB. Exit status 1 when it cannot listen or ws is not found, 2 on
// bad arguments.
'use strict';

const http = require('node:http');
const serve = require('./serve.js');

const USAGE = 'usage: node ws_echo.js PORT THREADS';

function main() {
	const port = serve.serverArgs('ws_echo.js', USAGE);
	let WebSocketServer;
	try {
		({ WebSocketServer } = require('ws'));
	} catch (e) {
		console.error(`ws_echo.js: the ws package is not installed (NODE_PATH): ${e.message}`);
		process.exit(1);
	}
	const server = http.createServer((req, res) => {
		res.writeHead(426);
		res.end();
	});
	const wss = new WebSocketServer({ server, perMessageDeflate: false });
	wss.on('connection', (ws) => {
		ws.on('error', () => ws.terminate());
		ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
	});
	serve.listen(server, 'ws_echo.js', port);
}

main();
