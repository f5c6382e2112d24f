// typed_first_audio.mjs - where the time goes from Create to the first audio
// of typed text in the studio (issue 15 item 5), step by step.
//
//   node bench/typed_first_audio.mjs        (after cmake --build build and web/build.sh)
//
// Starts `kokoro serve` (a fresh data and cache directory, --log-requests)
// and headless Chromium on the studio, then RUNS times (default 2, AFTER_MS
// apart, default 20000: the rest of the paragraph renders meanwhile) pastes
// the browser test's three-sentence paragraph (words of its own: no cache
// hit) and clicks Create. Prints the first audio (the page's performance
// marks kokoro:text-create -> kokoro:first-audio, as the browser test), the
// time from Create to the POST leaving, the CPU time Chromium (renderer, GPU
// process, utilities) and the server spent meanwhile, and a timeline: the
// page's fetches and event-stream events and the server's log lines, in ms
// after the click. PROFILE=1 adds the page's JavaScript profile (self time
// per function); REDUCED=1 emulates prefers-reduced-motion.
// Environment: KOKORO_BIN (default build/kokoro), WEB (default web/dist),
// CHROMIUM (default /usr/bin/chromium).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'web', 'package.json'));
const puppeteer = require('puppeteer-core');
const KOKORO = process.env.KOKORO_BIN || `${root}/build/kokoro`;
/** CPU time (ms, user + system) of the processes whose command line holds pat. */
function cpu(pat) {
  let t = 0;
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (!cmd.includes(pat)) continue;
      const st = fs.readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ');
      t += Number(st[11]) + Number(st[12]);
    } catch {}
  }
  return t * 10; // ms (100 Hz)
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const data = fs.mkdtempSync(path.join(os.tmpdir(), 'kk-probe-'));
const log = [];
const proc = spawn(KOKORO, ['serve', '--port', '0', '--data', data, '--cache-dir', path.join(data, 'cache'), '--web', process.env.WEB || `${root}/web/dist`, '--log-requests'], { stdio: ['ignore', 'pipe', 'pipe'] });
let url = null;
const onData = (d) => { for (const l of String(d).split('\n')) if (l) log.push(`${Date.now()} ${l}`); const m = /serving the studio at (http:\/\/[^\s/]+)/.exec(String(d)); if (m) url = m[1]; };
proc.stdout.on('data', onData); proc.stderr.on('data', onData);
while (!url) await sleep(50);
const browser = await puppeteer.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--disable-dev-shm-usage', '--mute-audio'] });
const page = await browser.newPage();
// Every fetch, upload and event-stream event, timed in the page.
await page.evaluateOnNewDocument(() => {
  window.__t = [];
  const mark = (what) => window.__t.push([Date.now(), Math.round(performance.now()), what]);
  window.__mark = mark;
  const ES = window.EventSource;
  window.EventSource = class extends ES {
    constructor(u, o) {
      super(u, o); mark('es open ' + u);
      for (const ev of ['hello', 'segment', 'progress']) this.addEventListener(ev, (e) => mark(`ev ${ev} ${e.data.slice(0, 90)}`));
    }
  };
  const f = window.fetch;
  window.fetch = async (...a) => { const u = String(a[0].url || a[0]); const m = (a[1] && a[1].method) || 'GET'; mark(`fetch> ${m} ${u}`); const r = await f(...a); mark(`fetch< ${r.status} ${u}`); return r; };
  const XO = XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.open = function (m, u, ...r) { this.addEventListener('load', () => mark(`xhr< ${this.status} ${u}`)); mark(`xhr> ${m} ${u}`); return XO.call(this, m, u, ...r); };
});
page.on('console', (m) => console.log('console:', m.text()));
await page.setViewport({ width: 1440, height: 900 });
if (process.env.REDUCED) await page.emulateMediaFeatures([{ name: 'prefers-reduced-motion', value: 'reduce' }]);
await page.goto(url + '/', { waitUntil: 'load' });
await page.waitForSelector('.brand');
// The page at rest costs nothing (so what the runs show is the wait's own work).
{ await sleep(3000); const a = [cpu('type=renderer'), cpu('type=gpu')]; await sleep(3000); const b = [cpu('type=renderer'), cpu('type=gpu')]; console.log(`idle 3 s: renderer ${b[0]-a[0]} ms, gpu ${b[1]-a[1]} ms`); }
const runs = Number(process.env.RUNS || 2);
for (let run = 0; run < runs; run++) {
  if (process.env.IDLE_MS) await sleep(Number(process.env.IDLE_MS));
  const code = [...String((Date.now() + run) % 100000)].map((d) => 'abcdefghij'[Number(d)]).join('');
  const para = `Welcome back, ${code}. This second sentence of the paragraph, ${code}, is somewhat longer than the first one. The third and last sentence is the longest of them all, ${code}, so that a paragraph spoken as one piece would keep the listener waiting.`;
  await page.click('#tab-input');
  if ((await page.$eval('#acc-text', (e) => e.getAttribute('aria-expanded'))) !== 'true') await page.click('#acc-text');
  await page.$eval('#input-text', (e, v) => { e.value = v; e.dispatchEvent(new Event('input', { bubbles: true })); }, para);
  let cdp = null;
  if (process.env.PROFILE) { cdp = await page.target().createCDPSession(); await cdp.send('Profiler.enable'); await cdp.send('Profiler.setSamplingInterval', { interval: 500 }); await cdp.send('Profiler.start'); }
  await page.evaluate(() => { window.__t = []; window.__mark('click'); });
  const tc = Date.now();
  const c0 = [cpu('chromium'), cpu('type=renderer'), cpu('type=gpu'), cpu('type=utility'), cpu('kokoro\0serve')];
  await page.click('[data-test=create-text]');
  for (let i = 0; i < 600; i++) {
    const ok = await page.evaluate(() => performance.getEntriesByName('kokoro:first-audio').length > 0 && window.__t.some((x) => x[2].startsWith('fetch> POST')));
    if (ok) break;
    await sleep(20);
  }
  const r = await page.evaluate(() => {
    const a = performance.getEntriesByName('kokoro:text-create').at(-1); const b = performance.getEntriesByName('kokoro:first-audio')[0];
    return { ms: Math.round(b.startTime - a.startTime), t: window.__t, post: Math.round(window.__t.find((x) => x[2].startsWith('fetch> POST'))[1] - a.startTime) };
  });
  if (cdp) {
    const { profile } = await cdp.send('Profiler.stop');
    const self = new Map(); const dt = profile.timeDeltas; const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    profile.samples.forEach((id, i) => { const n = byId.get(id); const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`; self.set(k, (self.get(k) || 0) + (dt[i] || 0) / 1000); });
    console.log('profile top:', [...self].filter(([k]) => !k.startsWith('(idle)') && !k.startsWith('(program)')).sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `${v.toFixed(0)} ${k}`).join('\n  '));
    console.log('idle/program:', [...self].filter(([k]) => k.startsWith('(idle)') || k.startsWith('(program)') || k.startsWith('(garbage')).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', '));
  }
  const c1 = [cpu('chromium'), cpu('type=renderer'), cpu('type=gpu'), cpu('type=utility'), cpu('kokoro\0serve')];
  console.log(`run ${run}: first audio ${r.ms} ms (create->POST ${r.post} ms); ${os.cpus().length} x ${os.cpus()[0].model}, load ${os.loadavg()[0].toFixed(2)}; cpu chromium ${c1[0]-c0[0]} ms (renderer ${c1[1]-c0[1]}, gpu ${c1[2]-c0[2]}, utility ${c1[3]-c0[3]}), kokoro ${c1[4]-c0[4]} ms`);
  const base = r.t[0][0];
  for (const [w, , what] of r.t) console.log(`  +${w - base} page ${what}`);
  for (const l of log) { const w = Number(l.split(' ')[0]); if (w >= tc - 50) console.log(`  +${w - base} srv ${l.slice(l.indexOf(' ') + 1)}`); }
  log.length = 0;
  await sleep(Number(process.env.AFTER_MS || 20000));
}
await browser.close();
proc.kill('SIGTERM');
await sleep(500);
fs.rmSync(data, { recursive: true, force: true });
