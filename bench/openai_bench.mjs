#!/usr/bin/env node
// openai_bench.mjs - the OpenAI-compatible speech API under 1, 4 and 16
// concurrent clients on loopback.
//
//   node bench/openai_bench.mjs [--clients 1,4,16] [--requests 2] [--idle 7] [--format mp3]
//                               [--url http://127.0.0.1:8080]
//
// Starts `kokoro serve` twice (build/kokoro, fresh data directories,
// --no-cache so that every request is synthesised), one with
// --speech-precision exact and one with fast (the endpoint's default),
// unless --url names a running one. First the engine-idle figure: one
// client alone, --idle 2-sentence inputs in turn to each server and, in
// between, `kokoro bench --first-audio` on the same text in each precision
// (the engine alone, no HTTP), so that the ratio says whether the server
// adds anything; medians printed (the target is <= 0.6 s). Then, on the
// fast server,
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

async function speak(input, url = base) {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/audio/speech`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer bench' },
    body: JSON.stringify({ model: 'tts-1', voice: 'af_heart', input, response_format: FORMAT }),
  });
  if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
  let first = null, bytes = 0;
  try {
    for await (const chunk of res.body) {
      if (first === null) first = performance.now() - t0;
      bytes += chunk.length;
    }
  } catch (e) { // (Node's fetch gives up on a body silent for 300 s: "terminated")
    const at = ((performance.now() - t0) / 1000).toFixed(1);
    throw new Error(`${e.message} after ${at} s, ${bytes} bytes in${first === null ? ', none yet' : ''}`);
  }
  if (!bytes) throw new Error('an empty answer');
  return { ttfb: first / 1000, total: (performance.now() - t0) / 1000 };
}

// Audio seconds the server has made (GET /metrics): exact in any format.
async function audioMade() {
  const t = await (await fetch(`${base}/metrics`, { headers: { Authorization: 'Bearer bench' } })).text();
  return Number(/^kokoro_audio_seconds_total (\S+)$/m.exec(t)[1]);
}

// The server's own time to first audio (GET /metrics: from the request to
// its first bytes handed to the HTTP layer), summed, and how many.
async function firstAudio(url) {
  const t = await (await fetch(`${url}/metrics`, { headers: { Authorization: 'Bearer bench' } })).text();
  const num = (k) => Number(new RegExp(`^kokoro_speech_first_audio_seconds_${k} (\\S+)$`, 'm').exec(t)[1]);
  return { sum: num('sum'), count: num('count') };
}

const q = (v, p) => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const la = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const BIN = process.env.KOKORO_BIN || 'build/kokoro';
const IDLE = Number(opt('idle', '7'));
const notes = new Set(); // lines of the servers' stderr worth repeating (the fast mode's fallback)

// `kokoro serve` on a fresh data directory; resolves to its address.
async function startServer(extra) {
  const dir = mkdtempSync(path.join(tmpdir(), 'kk-oai-bench-'));
  const proc = spawn(BIN, ['serve', '--port', '0', '--data', dir, '--no-cache', '--speech-queue', '256', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stderr.on('data', (d) => {
    process.stderr.write(d);
    for (const line of String(d).split('\n'))
      if (/fast mode|precision/i.test(line)) notes.add(line.trim());
  });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /serving the studio at (http:\/\/[^/\s]+)/.exec(out);
      if (m) resolve(m[1]);
    });
    proc.on('exit', (c) => reject(new Error(`kokoro serve exited (${c})`)));
  });
  return { proc, dir, url };
}

// The engine alone: `kokoro bench --first-audio` on text, seconds from the call to the first chunk.
function engineFirstAudio(input, precision) {
  return new Promise((resolve, reject) => {
    const p = spawn(BIN, ['bench', '--first-audio', '--max-chunks', '1', '--precision', precision, '--text', input],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OMP_WAIT_POLICY: 'passive' } });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    p.on('exit', (c) => {
      const m = /first audio (\S+) s after the call/.exec(out);
      if (c === 0 && m) resolve(Number(m[1]));
      else reject(new Error(`kokoro bench --first-audio failed (${c}): ${out.slice(-300)}`));
    });
  });
}

async function main() {
  const servers = [];
  const stopAll = async () => {
    for (const sv of servers) {
      sv.proc.kill('SIGTERM');
      await new Promise((r) => (sv.proc.exitCode !== null ? r() : sv.proc.on('exit', r)));
      rmSync(sv.dir, { recursive: true, force: true });
    }
  };
  let exactUrl = null, fastUrl = null;
  if (!base) {
    const [ex, fa] = await Promise.all([startServer(['--speech-precision', 'exact']), startServer([])]);
    servers.push(ex, fa);
    exactUrl = ex.url, fastUrl = fa.url, base = fa.url;
    // Interrupted: the servers go too.
    for (const sig of ['SIGINT', 'SIGTERM'])
      process.on(sig, () => {
        for (const sv of servers) {
          sv.proc.kill('SIGTERM');
          rmSync(sv.dir, { recursive: true, force: true });
        }
        process.exit(130);
      });
  }
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}; server ${base}; format ${FORMAT}`);
  try {
    await speak('Warm up.');
    // The engine idle: one request at a time, the precisions (and the
    // engine alone) in turn, so that each sees the same load.
    const before = la();
    if (IDLE <= 0) {
      console.log('idle figures skipped (--idle 0)');
    } else if (exactUrl) {
      await speak('Warm up.', exactUrl);
      const t = { exact: [], fast: [] }, e = { exact: [], fast: [] };
      const fa0 = { exact: await firstAudio(exactUrl), fast: await firstAudio(fastUrl) };
      for (let i = 0; i < IDLE; i++) {
        const input = text();
        t.exact.push((await speak(input, exactUrl)).ttfb); // (two processes: no cache shared)
        t.fast.push((await speak(input, fastUrl)).ttfb);
        e.exact.push(await engineFirstAudio(input, 'exact'));
        e.fast.push(await engineFirstAudio(input, 'fast'));
      }
      const fa1 = { exact: await firstAudio(exactUrl), fast: await firstAudio(fastUrl) };
      for (const n of notes) console.log(`note: ${n}`);
      console.log(`idle engine, 2-sentence inputs ("Request N is about the river. It has two sentences, and this is the second one."), median of ${IDLE} (target <= 0.6 s):`);
      console.log('precision  server ttfb  max      engine first audio  server / engine  HTTP delivery (means)');
      for (const p of ['exact', 'fast']) {
        const st = q(t[p], 0.5), en = q(e[p], 0.5);
        // client's mean time to first byte less the server's mean time to first audio bytes
        const mean = t[p].reduce((a, b) => a + b, 0) / t[p].length;
        const own = (fa1[p].sum - fa0[p].sum) / Math.max(1, fa1[p].count - fa0[p].count);
        console.log(`${p.padEnd(9)}  ${st.toFixed(3).padStart(9)} s  ${Math.max(...t[p]).toFixed(3).padStart(5)} s  ` +
          `${en.toFixed(3).padStart(16)} s  ${(st / en).toFixed(2).padStart(15)}  ${((mean - own) * 1000).toFixed(1).padStart(8)} ms`);
      }
      console.log(`load before -> after: ${before} -> ${la()}`);
    } else {
      const idle = [];
      for (let i = 0; i < IDLE; i++) idle.push((await speak(text())).ttfb);
      console.log(`idle engine, 2-sentence input: time to first byte median ${q(idle, 0.5).toFixed(3)} s, max ${Math.max(...idle).toFixed(3)} s (target <= 0.6 s); load ${before} -> ${la()}`);
    }
    console.log(`concurrent clients on ${exactUrl ? 'the fast-precision server (the endpoint\'s default)' : base}:`);
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
    await stopAll();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
