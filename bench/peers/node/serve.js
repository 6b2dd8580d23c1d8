// bench/peers/node/serve.js: what the Node peers' command lines and servers share: usage
// errors (exit 2), `PORT [THREADS]` (THREADS checked, then ignored: one event loop), the
// listener on 127.0.0.1 (exit 1 with the reason when the port is taken) and a clean exit 0
// on SIGTERM or SIGINT (how corio-bench stops its servers).
'use strict';

function badArgs(prog, usage, why) {
	console.error(`${prog}: ${why}\n${usage}`);
	process.exit(2);
}

function intArg(prog, usage, s, what, min, max) {
	if (!/^[0-9]+$/.test(s) || Number(s) < min || Number(s) > max)
		badArgs(prog, usage, `${what} must be an integer in ${min}..${max}, not '${s}'`);
	return Number(s);
}

// PORT [THREADS] from the command line: the port.
function serverArgs(prog, usage) {
	const args = process.argv.slice(2);
	if (args.length < 1 || args.length > 2)
		badArgs(prog, usage, 'wrong number of arguments');
	const port = intArg(prog, usage, args[0], 'PORT', 1, 65535);
	if (args.length === 2)
		intArg(prog, usage, args[1], 'THREADS', 1, 1 << 16);
	return port;
}

function listen(server, prog, port) {
	server.on('error', (e) => {
		console.error(`${prog}: listen 127.0.0.1:${port}: ${e.message}`);
		process.exit(1);
	});
	process.on('SIGTERM', () => process.exit(0));
	process.on('SIGINT', () => process.exit(0));
	server.listen({ host: '127.0.0.1', port, backlog: 4096 });
}

module.exports = { serverArgs, listen };
