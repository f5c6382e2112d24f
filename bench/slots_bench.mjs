// slots_bench.mjs - an attack on the server's connection slots (issue 13):
// a probe's latency (GET /api/health on a fresh connection, one at a time,
// every 100 ms) while an attacker holds 300 idle connections (nothing sent;
// each one the server closes is opened again at once).
//
//   KOKORO_BIN=build/kokoro node bench/slots_bench.mjs [--duration 15] [--idle 300]
//
// Four runs, each on a fresh `kokoro serve` (loopback, a fresh data
// directory, the model loaded): the settings as they were before issue 13
// (`--idle-timeout 120 --request-timeout 120`, no per-address cap) and
// the defaults, each against an attacker on one address (127.0.0.2) and one
// spread over five (127.0.0.2-6, enough to pass the per-address cap and
// fill all 256 slots). The probe comes from 127.0.0.1. Printed per run:
// probes answered and failed (no answer in 30 s, or an error), the
// latency p50/p99/max in ms, and how many of the attacker's connections
// the server closed. Loopback only; every loop is bounded by --duration.
import http from 'node:http';
import net from 'node:net';

import { removeDir, startServer } from '../src/server/tests/helper.mjs';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, v) => (a.startsWith('--') ? [...acc, [a.slice(2), v[i + 1]]] : acc), []));
const DURATION_MS = Number(args.duration || 15) * 1000;
const IDLE = Number(args.idle || 300);
const PROBE_TIMEOUT_MS = 30000;

// Holds `count` idle connections from the given addresses until stop():
// each one the server closes (refused past a cap, or timed out) is
// reopened, up to the end of the run.
function attacker(port, addresses, count) {
  let stopped = false, closed = 0;
  const socks = new Set();
  const open = (addr) => {
    if (stopped) return;
    const s = net.connect({ host: '127.0.0.1', port, localAddress: addr });
    socks.add(s);
    s.on('error', () => {});
    s.on('close', () => {
      socks.delete(s);
      if (stopped) return;
      closed++;
      // A refused socket closes at once: a short pause keeps the loop from spinning.
      setTimeout(() => open(addr), 20);
    });
  };
  for (let i = 0; i < count; i++) open(addresses[i % addresses.length]);
  return {
    get closed() { return closed; },
    stop() {
      stopped = true;
      for (const s of socks) s.destroy();
    },
  };
}

function probe(port) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
    const req = http.get({ host: '127.0.0.1', port, path: '/api/health', agent: false, timeout: PROBE_TIMEOUT_MS }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ok: res.statusCode === 200, ms: ms() }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ ok: false, ms: ms() }));
  });
}

function pct(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function run(name, serverArgs, addresses) {
  const srv = await startServer({ args: serverArgs });
  try {
    const atk = attacker(srv.port, addresses, IDLE);
    await new Promise((r) => setTimeout(r, 500)); // the attacker's sockets connect
    const lat = [];
    let failed = 0;
    const end = Date.now() + DURATION_MS;
    while (Date.now() < end) {
      const r = await probe(srv.port);
      if (r.ok) lat.push(r.ms);
      else failed++;
      await new Promise((res) => setTimeout(res, 100));
    }
    atk.stop();
    lat.sort((a, b) => a - b);
    const f = (x) => (Number.isNaN(x) ? '-' : x.toFixed(1));
    console.log(`${name.padEnd(34)} ${String(lat.length).padStart(8)} ${String(failed).padStart(6)} ` +
      `${f(pct(lat, 50)).padStart(9)} ${f(pct(lat, 99)).padStart(9)} ${f(lat.at(-1) ?? NaN).padStart(9)} ` +
      `${String(atk.closed).padStart(8)}`);
  } finally {
    await srv.stop();
    removeDir(srv.data);
  }
}

const before = ['--idle-timeout', '120', '--request-timeout', '120', '--max-client-connections', '100000'];
const one = ['127.0.0.2'];
const five = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'];
console.log(`${IDLE} idle connections held for ${DURATION_MS / 1000} s; probe GET /api/health from 127.0.0.1, ms`);
console.log(`${'run'.padEnd(34)} ${'answered'.padStart(8)} ${'failed'.padStart(6)} ${'p50'.padStart(9)} ` +
  `${'p99'.padStart(9)} ${'max'.padStart(9)} ${'closed'.padStart(8)}`);
await run('before (120 s, no cap), 1 address', before, one);
await run('before (120 s, no cap), 5 addresses', before, five);
await run('now (5 s, 64 an address), 1 address', [], one);
await run('now (5 s, 64 an address), 5 addresses', [], five);
