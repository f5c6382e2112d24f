// server_load.mjs - a small HTTP load generator for bench/server_bench.sh:
// C concurrent keep-alive connections (node:http, one request in flight on
// each) for D seconds, then requests per second, latency percentiles and the
// number of failed requests (an error, or a status other than the expected).
//
//   node bench/server_load.mjs --base http://127.0.0.1:8080 --path /api/health \
//        [--connections 16] [--duration 10] [--token T]
//        [--edit-project ID --edit-segments 1,2,3 --writers 2]
//
// With --writers W, W of the connections PATCH the text of the given
// segments in turn (a fresh text each time, so every edit sets off a
// background render) while the others read --path; reads and edits are
// reported apart.
import { readFileSync } from 'node:fs';
import http from 'node:http';

// --parse-wrk FILE: wrk's --latency report as the same JSON (for the
// table in server_bench.sh).
function parseWrk(text) {
  const ms = (v, unit) => Number(v) * ({ us: 1e-3, ms: 1, s: 1e3, m: 6e4 }[unit] ?? 1);
  const pct = (p) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
    return m ? ms(m[1], m[2]) : NaN;
  };
  const max = /Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s|m)/.exec(text);
  const req = /(\d+) requests in ([\d.]+)(\w+)/.exec(text);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const failed = (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0);
  return { requests: req ? Number(req[1]) : 0, rps: rps ? Number(rps[1]) : 0, p50: pct(50), p90: pct(90), p99: pct(99),
    max: max ? ms(max[1], max[2]) : NaN, failed };
}
const wrkIndex = process.argv.indexOf('--parse-wrk');
if (wrkIndex > 0) {
  console.log(JSON.stringify({ reads: parseWrk(readFileSync(process.argv[wrkIndex + 1], 'utf8')) }));
  process.exit(0);
}

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, v) => (a.startsWith('--') ? [...acc, [a.slice(2), v[i + 1]]] : acc), []));
const base = new URL(args.base || 'http://127.0.0.1:8080');
const path = args.path || '/api/health';
const connections = Number(args.connections || 16);
const duration = Number(args.duration || 10) * 1000;
const writers = Number(args.writers || 0);
const editSegments = (args['edit-segments'] || '').split(',').filter(Boolean);
const headers = { Host: base.host };
if (args.token) headers.Authorization = `Bearer ${args.token}`;

const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const words = ['quiet', 'harbour', 'letter', 'storm', 'bridge', 'market', 'river', 'answer', 'morning', 'voice'];

function request(method, p, body) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const h = { ...headers };
    if (body) {
      h['Content-Type'] = 'application/json';
      h['Content-Length'] = Buffer.byteLength(body);
    }
    const req = http.request({ host: base.hostname, port: base.port, method, path: p, headers: h, agent }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve({ status: res.statusCode, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    });
    req.on('error', () => resolve({ status: 0, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    req.end(body);
  });
}

function stats(lat, failed, seconds) {
  lat.sort((a, b) => a - b);
  const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : NaN);
  return { requests: lat.length, rps: lat.length / seconds, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: lat[lat.length - 1], failed };
}

const reads = [], edits = [];
let readFailed = 0, editFailed = 0, n = 0;
const t0 = Date.now();
const end = t0 + duration;

async function reader() {
  while (Date.now() < end) {
    const r = await request('GET', path);
    reads.push(r.ms);
    if (r.status !== 200) readFailed++;
  }
}

async function writer(k) {
  while (Date.now() < end) {
    const seg = editSegments[(n++) % editSegments.length];
    const text = `The ${words[n % 10]} and the ${words[(n * 7 + k) % 10]}, take ${n}.`;
    const r = await request('PATCH', `/api/projects/${args['edit-project']}/segments/${seg}`, JSON.stringify({ text }));
    edits.push(r.ms);
    if (r.status !== 200) editFailed++;
  }
}

const tasks = [];
for (let i = 0; i < connections; i++) tasks.push(i < writers ? writer(i) : reader());
await Promise.all(tasks);
const seconds = (Date.now() - t0) / 1000;
const out = { reads: stats(reads, readFailed, seconds) };
if (writers) out.edits = stats(edits, editFailed, seconds);
console.log(JSON.stringify(out));
agent.destroy();
