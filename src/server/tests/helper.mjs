// helper.mjs - runs `kokoro serve` for the API tests: a fresh data and cache
// directory, a free port (--port 0: the server prints its address), JSON
// requests with fetch, raw requests with node:http (for what fetch will not
// send: a foreign Host, a path with ".."), and an event-stream reader.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const KOKORO = process.env.KOKORO_BIN || path.resolve('build/kokoro');

export function tempDir(prefix = 'kk-server-') {
  return mkdtempSync(path.join(process.env.TEST_TMPDIR || tmpdir(), prefix));
}

export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}

// Starts the server; resolves once it prints its address and /api/health
// answers. opts: { data, cache, args: [...], env: {...}, bin (a program
// run in kokoro's place with the same arguments: a wrapper) }.
export async function startServer(opts = {}) {
  const data = opts.data || tempDir('kk-data-');
  const cache = opts.cache || path.join(data, 'cache');
  const args = ['serve', '--port', '0', '--data', data, '--cache-dir', cache, ...(opts.args || [])];
  const proc = spawn(opts.bin || KOKORO, args, { env: { ...process.env, ...(opts.env || {}) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kokoro serve did not start in 60 s:\n${stderr}`)), 60000);
    proc.stdout.on('data', (d) => {
      stdout += d;
      const m = /serving the studio at (http:\/\/\S+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`kokoro serve exited (${code}):\n${stderr}`)); });
  });
  const u = new URL(url);
  const server = {
    proc, data, cache, exited,
    base: `${u.protocol}//${u.host}`,
    port: Number(u.port),
    token: u.searchParams.get('token'),
    stderr: () => stderr,
    // SIGTERM and the exit status.
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null) return { code: proc.exitCode };
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 30000);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
  };
  const h = await api(server, 'GET', '/api/health');
  if (h.status !== 200) throw new Error(`health: ${h.status}`);
  return server;
}

// A JSON request. body: an object (sent as JSON), FormData, or undefined.
// Answers { status, headers, json, text, bytes }.
export async function api(server, method, p, body, headers = {}) {
  const init = { method, headers: { ...headers } };
  if (server.token && !init.headers.Authorization) init.headers.Authorization = `Bearer ${server.token}`;
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    if (!init.headers['Content-Type']) init.headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(server.base + p, init);
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString('utf8');
  let json = null;
  if ((res.headers.get('content-type') || '').startsWith('application/json') && text) json = JSON.parse(text);
  return { status: res.status, headers: res.headers, json, text, bytes };
}

// A request with node:http, which sends what it is given (Host, raw paths,
// bodies without Content-Length). Answers { status, headers, text }.
export function raw(server, { method = 'GET', path: p = '/', headers = {}, body, chunks } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, method, path: p, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on('error', reject);
    if (chunks) {
      // Written piece by piece; a server that answers early may close on us.
      (async () => {
        for (const c of chunks) {
          if (req.destroyed) break;
          await new Promise((r) => req.write(c, r));
        }
        req.end();
      })().catch(() => {});
    } else {
      req.end(body);
    }
  });
}

// Reads a project's event stream. next(pred, ms) resolves with the first
// event (not yet taken) that pred accepts.
export async function events(server, projectId) {
  const ctl = new AbortController();
  const headers = server.token ? { Authorization: `Bearer ${server.token}` } : {};
  const res = await fetch(`${server.base}/api/projects/${projectId}/events`, { signal: ctl.signal, headers });
  if (res.status !== 200) throw new Error(`events: ${res.status}`);
  const queue = [];
  let ended = false;
  let wake;
  let tick = new Promise((r) => { wake = r; });
  const notify = () => {
    const w = wake;
    tick = new Promise((r) => { wake = r; });
    w();
  };
  const pump = (async () => {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body) {
        buf += decoder.decode(chunk, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = 'message', data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (!data) continue; // a comment (ping) or the retry line
          queue.push({ event, data: JSON.parse(data) });
          notify();
        }
      }
    } catch { /* aborted */ }
    ended = true;
    notify();
  })();
  return {
    res,
    get ended() { return ended; },
    all: queue,
    done: pump,
    async next(pred, ms = 120000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const k = queue.findIndex((e) => !e.taken && pred(e));
        if (k >= 0) {
          queue[k].taken = true;
          return queue[k];
        }
        if (ended) throw new Error('event stream ended');
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching event in ${ms} ms; got ${JSON.stringify(queue.map((e) => e.event))}`);
        let t;
        await Promise.race([tick, new Promise((r) => { t = setTimeout(r, left); })]);
        clearTimeout(t);
      }
    },
    close() { ctl.abort(); return pump; },
  };
}

// Polls until every segment of the project is ready (or failed).
export async function waitRendered(server, id, ms = 300000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await api(server, 'GET', `/api/projects/${id}`);
    if (r.status !== 200) throw new Error(`project ${id}: ${r.status}`);
    if (r.json.segments.every((s) => s.status === 'ready' || s.status === 'error')) return r.json;
    if (Date.now() > deadline) throw new Error(`project ${id} not rendered in ${ms} ms`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

export function form(files, fields = {}) {
  const f = new FormData();
  for (const [name, content] of files) f.append('file', new Blob([content]), name);
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  return f;
}
