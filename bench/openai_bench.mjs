#!/usr/bin/env node
// openai_bench.mjs - the OpenAI-compatible speech API under 1, 4 and 16
// concurrent clients on loopback.
//
//   node bench/openai_bench.mjs [--clients 1,4,16] [--requests 2] [--format mp3] [--url http://127.0.0.1:8080]
//
// Starts `kokoro serve` (build/kokoro, a fresh data directory, --no-cache
// so that every request is synthesised) unless --url names a running one.
// First the engine-idle figure: one client alone, several 2-sentence
// inputs in turn, time to first audio byte (the target is <= 0.6 s). Then,
// for each client count, every client sends --requests requests one after
// another, each a different 2-sentence text (no cache hit), read as a
// stream; printed: requests per second, time to first body byte (median,
// p90, max), audio seconds per wall-clock second, failures (must be 0).
// The load average before and after each round is printed: the machine may
// be shared, and only figures taken under similar load compare.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir, cpus } from 'node:os';
import path from 'node:path';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const CLIENTS = opt('clients', '1,4,16').split(',').map(Number);
const REQUESTS = Number(opt('requests', '2'));
const FORMAT = opt('format', 'mp3');
let base = opt('url', null);

const SUBJECTS = ['the river', 'a quiet morning', 'the old library', 'our new studio', 'the mountain road', 'a small garden',
  'the late train', 'the city lights', 'a warm kitchen', 'the open sea', 'a winter night', 'the market square'];
let serial = 0;
// A fresh two-sentence input (about five seconds of speech).
function text() {
  const n = serial++;
  const s = SUBJECTS[n % SUBJECTS.length];
  return `Request ${n + 1} is about ${s}. It has two sentences, and this is the second one.`;
}

async function speak(input) {
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/audio/speech`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer bench' },
    body: JSON.stringify({ model: 'tts-1', voice: 'af_heart', input, response_format: FORMAT }),
  });
  if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
  let first = null, bytes = 0;
  for await (const chunk of res.body) {
    if (first === null) first = performance.now() - t0;
    bytes += chunk.length;
  }
  if (!bytes) throw new Error('an empty answer');
  return { ttfb: first / 1000, total: (performance.now() - t0) / 1000 };
}

// Audio seconds the server has made (GET /metrics): exact in any format.
async function audioMade() {
  const t = await (await fetch(`${base}/metrics`, { headers: { Authorization: 'Bearer bench' } })).text();
  return Number(/^kokoro_audio_seconds_total (\S+)$/m.exec(t)[1]);
}

const q = (v, p) => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const la = () => loadavg().map((x) => x.toFixed(2)).join(' ');

async function main() {
  let proc = null, dir = null;
  if (!base) {
    dir = mkdtempSync(path.join(tmpdir(), 'kk-oai-bench-'));
    const bin = process.env.KOKORO_BIN || 'build/kokoro';
    proc = spawn(bin, ['serve', '--port', '0', '--data', dir, '--no-cache', '--speech-queue', '256'], { stdio: ['ignore', 'pipe', 'inherit'] });
    base = await new Promise((resolve, reject) => {
      let out = '';
      proc.stdout.on('data', (d) => {
        out += d;
        const m = /serving the studio at (http:\/\/[^/\s]+)/.exec(out);
        if (m) resolve(m[1]);
      });
      proc.on('exit', (c) => reject(new Error(`kokoro serve exited (${c})`)));
    });
    // Interrupted: the server goes too.
    for (const sig of ['SIGINT', 'SIGTERM'])
      process.on(sig, () => {
        proc.kill('SIGTERM');
        rmSync(dir, { recursive: true, force: true });
        process.exit(130);
      });
  }
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}; server ${base}; format ${FORMAT}`);
  try {
    await speak('Warm up.');
    // The engine idle: one request at a time.
    const idle = [];
    for (let i = 0; i < 5; i++) idle.push((await speak(text())).ttfb);
    console.log(`idle engine, 2-sentence input: time to first byte median ${q(idle, 0.5).toFixed(3)} s, max ${Math.max(...idle).toFixed(3)} s (target <= 0.6 s); load ${la()}`);
    console.log('clients  requests  failed  req/s   ttfb median  ttfb p90  ttfb max  audio s/s   load before -> after');
    for (const c of CLIENTS) {
      const before = la();
      const made0 = await audioMade();
      const t0 = performance.now();
      const results = [];
      let failed = 0;
      await Promise.all(Array.from({ length: c }, async () => {
        for (let i = 0; i < REQUESTS; i++) {
          try {
            results.push(await speak(text()));
          } catch (e) {
            failed++;
            console.error(`  failed: ${e.message}`);
          }
        }
      }));
      const wall = (performance.now() - t0) / 1000;
      const ttfb = results.map((r) => r.ttfb);
      const audio = (await audioMade()) - made0;
      console.log(`${String(c).padStart(7)}  ${String(c * REQUESTS).padStart(8)}  ${String(failed).padStart(6)}  ${(results.length / wall).toFixed(2).padStart(5)}  ` +
        `${q(ttfb, 0.5).toFixed(3).padStart(11)}  ${q(ttfb, 0.9).toFixed(3).padStart(8)}  ${Math.max(...ttfb).toFixed(3).padStart(8)}  ` +
        `${(audio / wall).toFixed(2).padStart(9)}   ${before} -> ${la()}`);
      if (failed) process.exitCode = 1;
    }
  } finally {
    if (proc) {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.on('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
