// soak_clients.mjs - the mixed clients of bench/server_soak.sh: until the
// deadline, on loopback, each client in a loop of its own:
//
//   editors (2)    a project of a few short segments; PATCH a segment's
//                  text (each edit sets off a render), undo, redo; every
//                  25 rounds the project is deleted and made again;
//   exporter       the track as wav, mp3 or flac, read to the end;
//   uploader       a multipart SRT upload, the project read, then deleted;
//   listener       an event stream opened on a project, read 5 s, closed;
//   abandoner      requests given up half way: an export whose connection
//                  is destroyed after 300 ms, an upload cut mid-body, a
//                  socket opened and left idle (the server's timeout takes
//                  it), a project deleted while its export runs.
//
//   node bench/soak_clients.mjs --base http://127.0.0.1:PORT --seconds S [--token T]
//
// Prints one line of counts at the end (requests by client, failures: a
// status other than the expected or an error where none was asked for).
// Exit status 1 when any request failed. Every loop ends at the deadline.
import http from 'node:http';
import net from 'node:net';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, v) => (a.startsWith('--') ? [...acc, [a.slice(2), v[i + 1]]] : acc), []));
const base = new URL(args.base || 'http://127.0.0.1:8080');
const deadline = Date.now() + Number(args.seconds || 60) * 1000;
const auth = args.token ? { Authorization: `Bearer ${args.token}` } : {};
const counts = {};
const failures = [];
const words = ['quiet', 'harbour', 'letter', 'storm', 'bridge', 'market', 'river', 'answer', 'morning', 'voice'];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const live = () => Date.now() < deadline;

function count(client, ok, what) {
  counts[client] = (counts[client] || 0) + 1;
  if (!ok) {
    counts[`${client}_failed`] = (counts[`${client}_failed`] || 0) + 1;
    if (failures.length < 20) failures.push(`${client}: ${what}`);
  }
}

// One request on a fresh connection. Answers { status, body } or { error }.
function request(method, p, { body, type, abortAfterMs, cutBody } = {}) {
  return new Promise((resolve) => {
    const headers = { ...auth, Host: base.host };
    if (body !== undefined) {
      headers['Content-Type'] = type || 'application/json';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const req = http.request({ host: base.hostname, port: base.port, method, path: p, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', (e) => resolve({ error: e.message }));
    });
    req.setTimeout(120000, () => req.destroy(new Error('no answer in 120 s')));
    req.on('error', (e) => resolve({ error: e.message }));
    if (abortAfterMs) setTimeout(() => { req.destroy(new Error('abandoned')); }, abortAfterMs);
    if (cutBody) { // half the body, then the connection goes
      req.write(body.slice(0, body.length >> 1));
      setTimeout(() => req.destroy(new Error('abandoned')), 200);
    } else {
      req.end(body);
    }
  });
}

const json = (r) => JSON.parse(r.body.toString('utf8'));
const sentence = () => Array.from({ length: 4 }, () => words[Math.floor(Math.random() * words.length)]).join(' ') + '.';

async function newProject(client) {
  const r = await request('POST', '/api/projects',
    { body: JSON.stringify({ text: `${sentence()}\n\n${sentence()}\n\n${sentence()}` }) });
  count(client, r.status === 201, `create ${r.status || r.error}`);
  return r.status === 201 ? json(r) : null;
}

async function editor(name) {
  while (live()) {
    const p = await newProject(name);
    if (!p) { await sleep(1000); continue; }
    for (let i = 0; i < 25 && live(); i++) {
      const seg = p.segments[i % p.segments.length];
      let r = await request('PATCH', `/api/projects/${p.id}/segments/${seg.id}`, { body: JSON.stringify({ text: sentence() }) });
      count(name, r.status === 200, `patch ${r.status || r.error}`);
      r = await request('POST', `/api/projects/${p.id}/undo`, { body: '{}' });
      count(name, r.status === 200, `undo ${r.status || r.error}`);
      r = await request('POST', `/api/projects/${p.id}/redo`, { body: '{}' });
      count(name, r.status === 200, `redo ${r.status || r.error}`);
      await sleep(300);
    }
    const r = await request('DELETE', `/api/projects/${p.id}`);
    count(name, r.status === 204, `delete ${r.status || r.error}`);
  }
}

async function exporter() {
  const formats = ['wav', 'mp3', 'flac'];
  let p = null;
  for (let i = 0; live(); i++) {
    if (!p || i % 10 === 0) {
      if (p) await request('DELETE', `/api/projects/${p.id}`);
      p = await newProject('exporter');
      if (!p) { await sleep(1000); continue; }
    }
    const r = await request('GET', `/api/projects/${p.id}/track?format=${formats[i % 3]}`);
    count('exporter', r.status === 200 && r.body.length > 44, `export ${r.status || r.error}`);
    await sleep(500);
  }
  if (p) await request('DELETE', `/api/projects/${p.id}`);
}

function multipart(name, content) {
  const b = `----soak${Math.random().toString(16).slice(2)}`;
  const body = `--${b}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\n` +
    `Content-Type: application/octet-stream\r\n\r\n${content}\r\n--${b}--\r\n`;
  return { body, type: `multipart/form-data; boundary=${b}` };
}

function srt(n) {
  let s = '';
  for (let i = 0; i < n; i++) {
    const t = (ms) => `00:${String(Math.floor(ms / 60000)).padStart(2, '0')}:${String(Math.floor(ms / 1000) % 60).padStart(2, '0')},${String(ms % 1000).padStart(3, '0')}`;
    s += `${i + 1}\n${t(i * 3000)} --> ${t(i * 3000 + 2000)}\n${sentence()}\n\n`;
  }
  return s;
}

async function uploader() {
  while (live()) {
    const { body, type } = multipart('soak.srt', srt(8));
    const r = await request('POST', '/api/projects', { body, type });
    count('uploader', r.status === 201, `upload ${r.status || r.error}`);
    if (r.status === 201) {
      const id = json(r).id;
      const g = await request('GET', `/api/projects/${id}`);
      count('uploader', g.status === 200, `get ${g.status || g.error}`);
      const d = await request('DELETE', `/api/projects/${id}`);
      count('uploader', d.status === 204, `delete ${d.status || d.error}`);
    }
    await sleep(1000);
  }
}

async function listener() {
  while (live()) {
    const p = await newProject('listener');
    if (!p) { await sleep(1000); continue; }
    const r = await request('GET', `/api/projects/${p.id}/events`, { abortAfterMs: 5000 });
    // Read for 5 s then dropped by us: an error 'abandoned' is the expected end.
    count('listener', r.error === 'abandoned' || r.status === 200, `events ${r.status || r.error}`);
    const d = await request('DELETE', `/api/projects/${p.id}`);
    count('listener', d.status === 204, `delete ${d.status || d.error}`);
  }
}

async function abandoner() {
  const idle = [];
  for (let i = 0; live(); i++) {
    const p = await newProject('abandoner');
    if (!p) { await sleep(1000); continue; }
    await request('GET', `/api/projects/${p.id}/track?format=wav`, { abortAfterMs: 300 });
    count('abandoner', true);
    const { body, type } = multipart('cut.srt', srt(200));
    await request('POST', '/api/projects', { body, type, cutBody: true });
    count('abandoner', true);
    if (idle.length < 8) { // a few idle sockets at a time; the server closes them
      const s = net.connect({ host: base.hostname, port: Number(base.port) });
      s.on('error', () => {});
      s.on('close', () => idle.splice(idle.indexOf(s), 1));
      idle.push(s);
    }
    // Deleted while its export runs: the export answers 404 and stops.
    const ex = request('GET', `/api/projects/${p.id}/track?format=flac`);
    await sleep(200);
    const d = await request('DELETE', `/api/projects/${p.id}`);
    count('abandoner', d.status === 204, `delete ${d.status || d.error}`);
    const e = await ex;
    count('abandoner', e.status === 200 || e.status === 404, `export of a deleted project ${e.status || e.error}`);
    await sleep(1000);
  }
  for (const s of idle) s.destroy();
}

await Promise.all([editor('editor1'), editor('editor2'), exporter(), uploader(), listener(), abandoner()]);
const failed = Object.entries(counts).filter(([k]) => k.endsWith('_failed')).reduce((a, [, v]) => a + v, 0);
console.log(`clients: ${Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(' ')}; failed=${failed}`);
for (const f of failures) console.log(`  failed: ${f}`);
process.exit(failed ? 1 : 0);
