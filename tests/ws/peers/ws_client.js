// tests/ws/peers/ws_client.js: Node's `ws` package as a WebSocket CLIENT of corio's server,
// for tests/ws/test_ws_interop_node_client.c. One scenario per run:
//
//     node ws_client.js URL SCENARIO [CA_FILE]
//
// NODE_PATH must name the node_modules holding ws (scripts/deps.sh installs it in
// build/npm). CA_FILE: the PEM CA trusted for wss:// URLs. Each step that holds prints one
// line on stdout ("echo ok", "pong ok", "closed CODE REASON", ...); the first that does not
// prints "fail WHY" and exits 1. Exit 0 when the scenario ran to its end.
//
// Scenarios (what the server at URL is expected to do in brackets):
//   echo           [echo every message with its opcode] text and binary of 0, 1, 125, 126,
//                  65535, 65536 and 1 MiB bytes; multi-byte UTF-8 text; a binary message
//                  in three fragments with a ping between them; a text message fragmented
//                  inside a multi-byte character; a ping answered by a pong with its
//                  payload; then a close 1000 "done"
//   close4000      [receive until the close] closes with 4000 "node says bye" at once
//   wait-close     [close the connection] waits for the server's close, prints its code
//   deflate        [echo] offers permessage-deflate, prints "extensions LIST" ("-": none)
//                  and "params JSON" (what was agreed), echoes compressible and
//                  incompressible messages twice each and one in three fragments, then
//                  closes 1000
//   deflate-tight  the same, offering no context takeover both ways and windows of 10 bits
//   deflate-8      the same, asking for a server window of 8 bits (zlib cannot deflate
//                  with 8: a server should decline rather than use 9)
//   proto          [pick a subprotocol] offers "chat, superchat", prints "protocol P" ("-":
//                  none), closes 1000 "done"
//   nocode         [receive until the close] closes with no code at all
//   many           [echo] 16 connections at once, 40 messages of 0..8 KiB each, interleaved;
//                  prints "many ok", every one closes 1000 "done"
//   unmasked       [fail with 1002] writes an unmasked binary frame on the raw socket
//   badutf8        [fail with 1007] writes a masked text frame holding C3 28 (invalid UTF-8)
//   too-big        [fail with 1009] sends a 17 MiB binary message (corio's default limit
//                  is 16 MiB)
// The last three wait for the server's close and print "closed CODE REASON".
'use strict';

const fs = require('node:fs');
const WebSocket = require('ws');

const [url, scenario, caFile] = process.argv.slice(2);

function out(line) {
	process.stdout.write(line + '\n');
}

function fail(why) {
	out('fail ' + why);
	process.exit(1);
}

if (!url || !scenario)
	fail('usage: node ws_client.js URL SCENARIO [CA_FILE]');

// permessage-deflate as each deflate scenario offers it; threshold 0: every message is
// compressed, the empty one too (ws's default leaves those under 1 KiB alone).
const DEFLATE = {
	'deflate': { threshold: 0 },
	'deflate-tight': { threshold: 0, serverNoContextTakeover: true,
		clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 10 },
	'deflate-8': { threshold: 0, serverMaxWindowBits: 8 },
};
const opts = { perMessageDeflate: DEFLATE[scenario] || false, maxPayload: 64 << 20 };
if (caFile)
	opts.ca = fs.readFileSync(caFile);
const ws = new WebSocket(url, scenario === 'proto' ? ['chat', 'superchat'] : [], opts);

// Messages as they arrive, taken in order by next().
const inbox = [];
let waiter = null;
ws.on('message', (data, isBinary) => {
	const m = { data, isBinary };
	if (waiter) {
		const w = waiter;
		waiter = null;
		w(m);
	} else {
		inbox.push(m);
	}
});
ws.on('error', (e) => fail('error ' + e.message));
let closed = null;
const closedPromise = new Promise((resolve) => {
	ws.on('close', (code, reason) => {
		closed = { code, reason: reason.toString() };
		if (waiter)
			fail(`closed (${code}) while waiting for a message`);
		resolve(closed);
	});
});

function next() {
	if (inbox.length)
		return Promise.resolve(inbox.shift());
	return new Promise((resolve) => {
		waiter = resolve;
	});
}

function nextPong() {
	return new Promise((resolve) => ws.once('pong', resolve));
}

// n bytes: printable ASCII for text, every byte value for binary.
function pattern(n, text) {
	const b = Buffer.alloc(n);
	for (let i = 0; i < n; i++)
		b[i] = text ? 0x20 + ((i * 7) % 95) : (i * 31 + 7) & 0xff;
	return b;
}

async function expectEcho(what, data, binary) {
	const m = await next();
	const want = Buffer.isBuffer(data) ? data : Buffer.from(data);
	if (m.isBinary !== binary)
		fail(`${what}: came back as ${m.isBinary ? 'binary' : 'text'}`);
	if (!m.data.equals(want))
		fail(`${what}: ${m.data.length} bytes came back, ${want.length} sent, or others`);
}

async function closeAndPrint(code, reason) {
	ws.close(code, reason);
	const c = await closedPromise;
	out(`closed ${c.code} ${c.reason}`);
}

async function echo() {
	for (const n of [0, 1, 125, 126, 65535, 65536, 1 << 20]) {
		for (const binary of [false, true]) {
			const b = pattern(n, !binary);
			ws.send(binary ? b : b.toString('latin1'), { binary });
			await expectEcho(`echo ${n} ${binary ? 'binary' : 'text'}`, b, binary);
		}
	}
	out('echo ok');
	const utf8 = 'žluťoučký kůň úpěl ďábelské ódy ✓ 🎉 '.repeat(500);
	ws.send(utf8);
	await expectEcho('multi-byte text', utf8, false);
	out('utf8 ok');

	// Three fragments, a ping between the first two: one message comes back.
	const parts = [pattern(1000, false), pattern(70000, false), pattern(3, false)];
	const pong = nextPong();
	ws.send(parts[0], { binary: true, fin: false });
	ws.ping('between');
	ws.send(parts[1], { binary: true, fin: false });
	ws.send(parts[2], { binary: true, fin: true });
	await expectEcho('fragmented binary', Buffer.concat(parts), true);
	const p = await pong;
	if (p.toString() !== 'between')
		fail(`pong between fragments carried '${p}'`);
	// Text cut inside a character (é is C3 A9): valid only once joined.
	const text = Buffer.from('fragmented é text');
	const cut = text.indexOf(0xc3) + 1;
	ws.send(text.subarray(0, cut), { binary: false, fin: false });
	ws.send(Buffer.alloc(0), { binary: false, fin: false });
	ws.send(text.subarray(cut), { binary: false, fin: true });
	await expectEcho('text fragmented inside a character', text, false);
	out('fragments ok');

	const pong2 = nextPong();
	ws.ping('corio-ping');
	const q = await pong2;
	if (q.toString() !== 'corio-ping')
		fail(`pong carried '${q}'`);
	const big = pattern(125, false); // the largest control frame
	const pong3 = nextPong();
	ws.ping(big);
	if (!(await pong3).equals(big))
		fail('the pong of a 125-byte ping did not carry its payload');
	out('pong ok');
	await closeAndPrint(1000, 'done');
}

async function deflate() {
	const ext = ws._extensions['permessage-deflate'];
	out('extensions ' + (ws.extensions || '-'));
	out('params ' + JSON.stringify(ext ? ext.params : null));
	const big = Buffer.from('compressible text, over and over. '.repeat(30000));
	const msgs = [
		[Buffer.alloc(0), true], [big, false], [pattern(65536, false), true],
		[Buffer.from('x'), false], [big, true],
	];
	// Each twice: with context takeover the second goes out as back-references.
	for (let round = 0; round < 2; round++) {
		for (const [data, binary] of msgs) {
			ws.send(binary ? data : data.toString(), { binary });
			await expectEcho(`deflate echo ${data.length} ${binary ? 'binary' : 'text'}`,
				data, binary);
		}
	}
	// One message in three compressed fragments (RSV1 on the first only).
	const parts = [big.subarray(0, 5000), big.subarray(5000, 5001), big.subarray(5001, 90000)];
	ws.send(parts[0], { binary: false, fin: false });
	ws.send(parts[1], { binary: false, fin: false });
	ws.send(parts[2], { binary: false, fin: true });
	await expectEcho('deflate fragments', Buffer.concat(parts), false);
	out('echo ok');
	await closeAndPrint(1000, 'done');
}

// 16 more connections, each echoing 40 messages of varied sizes, all at once.
async function many() {
	const one = async (k) => {
		const c = new WebSocket(url, opts);
		const got = [];
		let wake = null;
		c.on('message', (data) => {
			got.push(data);
			if (wake)
				wake();
		});
		c.on('error', (e) => fail(`connection ${k}: ${e.message}`));
		await new Promise((resolve) => c.once('open', resolve));
		for (let i = 0; i < 40; i++) {
			const b = pattern((k * 977 + i * 211) % 8193, false);
			c.send(b);
			while (got.length === 0)
				await new Promise((resolve) => { wake = resolve; });
			wake = null;
			if (!got.shift().equals(b))
				fail(`connection ${k}: message ${i} came back different`);
		}
		const closed = new Promise((resolve) => c.once('close', resolve));
		c.close(1000, 'done');
		await closed;
	};
	await Promise.all(Array.from({ length: 16 }, (_, k) => one(k)));
	out('many ok');
	await closeAndPrint(1000, 'done');
}

// A frame written on the socket under ws, as a broken client would.
function raw(bytes) {
	ws._socket.write(Buffer.from(bytes));
}

async function waitClose() {
	const c = await closedPromise;
	out(`closed ${c.code} ${c.reason}`);
}

async function main() {
	await new Promise((resolve) => ws.once('open', resolve));
	switch (scenario) {
	case 'echo':
		await echo();
		break;
	case 'close4000':
		await closeAndPrint(4000, 'node says bye');
		break;
	case 'wait-close':
		await waitClose();
		break;
	case 'proto':
		out('protocol ' + (ws.protocol || '-'));
		await closeAndPrint(1000, 'done');
		break;
	case 'nocode':
		await closeAndPrint();
		break;
	case 'many':
		await many();
		break;
	case 'unmasked':
		raw([0x82, 0x03, 1, 2, 3]);
		await waitClose();
		break;
	case 'badutf8': {
		const m = [0x5a, 0xa5, 0x0f, 0xf0];
		raw([0x81, 0x82, ...m, 0xc3 ^ m[0], 0x28 ^ m[1]]);
		await waitClose();
		break;
	}
	case 'too-big':
		ws.send(Buffer.alloc(17 << 20, 0x61), { binary: true });
		await waitClose();
		break;
	case 'deflate':
	case 'deflate-tight':
	case 'deflate-8':
		await deflate();
		break;
	default:
		fail('unknown scenario ' + scenario);
	}
	process.exit(0);
}

main().catch((e) => fail('exception ' + (e && e.stack ? e.stack : e)));
