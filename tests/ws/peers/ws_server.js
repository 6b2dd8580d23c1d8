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
//   /deflate    the same with permessage-deflate accepted when offered (every message
//               compressed); prints "params PATH JSON", what was agreed
//   /deflate-tight  the same, with no context takeover both ways and windows of 10 bits
//   /deflate-frags  (deflate accepted) sends a compressed text message in three
//               fragments, then "done"
//   /ping       sends a ping "node-ping"; at its pong prints "pong PAYLOAD" and sends the
//               text "pong seen"
//   /fragments  sends a text message in three fragments with a ping between them, then a
//               binary one in two, then "done"
//   /manyfrags  sends a 1 MiB binary message in 64 fragments of 16 KiB, then "done"
//   /toobig     sends a 17 MiB binary message (corio's default limit is 16 MiB)
//   /proto      prints "protocol P" (the subprotocol ws picked: the client's first; "-")
//   /close      closes at once with 4001 "node closes"
//   /nocode     closes at once without a code
//   /terminate  destroys the TCP connection at once, without a close frame
// and raw frames written on the socket under ws, which a server must never send:
//   /badutf8    a text frame holding invalid UTF-8 (C3 28)
//   /masked     a binary frame masked by the server
//   /rsv1       a binary frame with RSV1 set (no extension was agreed)
//   /opcode3    a frame with the reserved opcode 3
//   /bigping    a ping of 126 bytes (control frames hold 125 at most)
//   /badclose   a close frame with code 1005, which may not be sent
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const { WebSocketServer } = require('ws');

// Raw frames by path: bytes written on the socket as they are.
const RAW = {
	'/badutf8': [0x81, 0x02, 0xc3, 0x28], // FIN text, 2 bytes: C3 cannot be followed by 28
	'/rsv1': [0xc2, 0x01, 0x00],
	'/opcode3': [0x83, 0x01, 0x00],
	'/bigping': [0x89, 0x7e, 0x00, 0x7e, ...Buffer.alloc(126)],
	'/badclose': [0x88, 0x02, 0x03, 0xed],
};

const [certFile, keyFile] = process.argv.slice(2);

function out(line) {
	process.stdout.write(line + '\n');
}

const server = certFile
	? https.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) })
	: http.createServer();
const plain = new WebSocketServer({ noServer: true, perMessageDeflate: false,
	maxPayload: 64 << 20 });
// threshold 0: every message compressed, the empty one too (ws's default: 1 KiB and up).
const deflate = new WebSocketServer({ noServer: true, perMessageDeflate: { threshold: 0 },
	maxPayload: 64 << 20 });
const tight = new WebSocketServer({ noServer: true, maxPayload: 64 << 20,
	perMessageDeflate: { threshold: 0, serverNoContextTakeover: true,
		clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 10 } });

function scenario(path, ws) {
	const ext = ws._extensions['permessage-deflate'];
	out(`open ${path} ${ws.extensions || '-'}`);
	if (ext)
		out(`params ${path} ${JSON.stringify(ext.params)}`);
	ws.on('close', (code, reason) => out(`close ${path} ${code} ${reason}`));
	ws.on('error', (e) => out(`error ${path} ${e.message}`));
	switch (path) {
	case '/echo':
	case '/deflate':
	case '/deflate-tight':
		ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
		break;
	case '/deflate-frags': {
		const text = 'compressed fragments, compressed fragments. '.repeat(2000);
		ws.send(text.slice(0, 1000), { fin: false });
		ws.send(text.slice(1000, 1001), { fin: false });
		ws.send(text.slice(1001), { fin: true });
		ws.send('done');
		break;
	}
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
	case '/manyfrags': {
		const big = Buffer.alloc(1 << 20);
		for (let i = 0; i < big.length; i++)
			big[i] = (i * 31 + 7) & 0xff;
		for (let i = 0; i < 64; i++)
			ws.send(big.subarray(i << 14, (i + 1) << 14), { binary: true, fin: i === 63 });
		ws.send('done');
		break;
	}
	case '/toobig':
		ws.send(Buffer.alloc(17 << 20, 0x61), { binary: true });
		break;
	case '/proto':
		out(`protocol ${ws.protocol || '-'}`);
		break;
	case '/close':
		ws.close(4001, 'node closes');
		break;
	case '/nocode':
		ws.close();
		break;
	case '/terminate':
		ws.terminate();
		break;
	case '/badutf8':
	case '/rsv1':
	case '/opcode3':
	case '/bigping':
	case '/badclose':
		ws._socket.write(Buffer.from(RAW[path]));
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
	const wss = path === '/deflate-tight' ? tight : path.startsWith('/deflate') ? deflate : plain;
	wss.handleUpgrade(req, socket, head, (ws) => scenario(path, ws));
});
server.on('request', (req, res) => {
	res.writeHead(404);
	res.end();
});
process.on('SIGTERM', () => process.exit(0));
server.listen({ host: '127.0.0.1', port: 0 }, () => out(`listening ${server.address().port}`));
