// tests/ws/peers/ws_server.js: Node's `ws` package as a WebSocket SERVER for corio's client,
// for tests/ws/test_ws_interop_node_server.c:
//
//     node ws_server.js [CERT_FILE KEY_FILE]
//
// Listens on 127.0.0.1, a port the kernel picks (HTTPS with CERT and KEY: wss://), prints
// "listening PORT" on stdout, and serves until killed. NODE_PATH must name the node_modules
// holding ws. What it does depends on the request path; every connection prints
// "open PATH EXTENSIONS" ("-": none) when it starts and "close PATH CODE REASON" when it
// ends, and the events below, one line each, so that the test can follow:
//   /echo       echoes every message with its opcode (permessage-deflate refused)
//   /deflate    the same with permessage-deflate accepted when offered
//   /ping       sends a ping "node-ping"; at its pong prints "pong PAYLOAD" and sends the
//               text "pong seen"
//   /fragments  sends a text message in three fragments with a ping between them, then a
//               binary one in two, then "done"
//   /close      closes at once with 4001 "node closes"
//   /badutf8    writes a raw text frame holding invalid UTF-8 (C3 28) on the socket
//   /masked     writes a raw binary frame masked by the server, which RFC 6455 forbids
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const { WebSocketServer } = require('ws');

const [certFile, keyFile] = process.argv.slice(2);

function out(line) {
	process.stdout.write(line + '\n');
}

const server = certFile
	? https.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) })
	: http.createServer();
const plain = new WebSocketServer({ noServer: true, perMessageDeflate: false,
	maxPayload: 64 << 20 });
const deflate = new WebSocketServer({ noServer: true, perMessageDeflate: true,
	maxPayload: 64 << 20 });

function scenario(path, ws) {
	out(`open ${path} ${ws.extensions || '-'}`);
	ws.on('close', (code, reason) => out(`close ${path} ${code} ${reason}`));
	ws.on('error', (e) => out(`error ${path} ${e.message}`));
	switch (path) {
	case '/echo':
	case '/deflate':
		ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
		break;
	case '/ping':
		ws.on('pong', (data) => {
			out(`pong ${data}`);
			ws.send('pong seen');
		});
		ws.ping('node-ping');
		break;
	case '/fragments':
		ws.send('first ', { fin: false });
		ws.ping('in the middle');
		ws.send('second ', { fin: false });
		ws.send('third', { fin: true });
		ws.send(Buffer.from([1, 2, 3]), { binary: true, fin: false });
		ws.send(Buffer.from([4, 5]), { binary: true, fin: true });
		ws.send('done');
		ws.on('pong', (data) => out(`pong ${data}`));
		break;
	case '/close':
		ws.close(4001, 'node closes');
		break;
	case '/badutf8':
		// FIN + text, unmasked, 2 bytes: C3 starts a 2-byte character, 28 cannot continue it.
		ws._socket.write(Buffer.from([0x81, 0x02, 0xc3, 0x28]));
		break;
	case '/masked': {
		const mask = [0x11, 0x22, 0x33, 0x44];
		const payload = Buffer.from('mask').map((b, i) => b ^ mask[i % 4]);
		ws._socket.write(Buffer.concat([Buffer.from([0x82, 0x80 | 4, ...mask]), payload]));
		break;
	}
	default:
		ws.close(1008, 'unknown path');
	}
}

server.on('upgrade', (req, socket, head) => {
	const path = req.url.split('?')[0];
	const wss = path === '/deflate' ? deflate : plain;
	wss.handleUpgrade(req, socket, head, (ws) => scenario(path, ws));
});
server.on('request', (req, res) => {
	res.writeHead(404);
	res.end();
});
process.on('SIGTERM', () => process.exit(0));
server.listen({ host: '127.0.0.1', port: 0 }, () => out(`listening ${server.address().port}`));
