// video.test.mjs - a project's video (docs/api.md, "Video"): the upload
// streamed to disk (raw body and form, the size limit, an aborted upload,
// not a video), Range requests (206, 416, Accept-Ranges), removal with the
// video and with the project, the sweep at start, the original's peaks and
// the dubbed export (replace / add / duck, checked with ffprobe). Run by
// CTest (server_video) or from the repository root:
//   KOKORO_BIN=build/kokoro node --test src/server/tests/video.test.mjs
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { api, raw, removeDir, startServer, tempDir, waitRendered } from './helper.mjs';

const SRT = `1
00:00:00,500 --> 00:00:02,000
Hello there.

2
00:00:02,500 --> 00:00:04,000
Good morning.
`;

const FFMPEG = process.env.FFMPEG || 'ffmpeg';
const FFPROBE = process.env.FFPROBE || 'ffprobe';

// A 6 s test video (testsrc, a 60 Hz tone), longer than the last cue.
function makeVideo(dir, name = 'clip.mp4', seconds = 6) {
  const out = path.join(dir, name);
  const r = spawnSync(FFMPEG, ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `testsrc=size=160x120:rate=10:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=60:duration=${seconds}`, '-c:v', 'mpeg4', '-c:a', 'aac', '-shortest', out]);
  assert.equal(r.status, 0, String(r.stderr));
  return out;
}

function probe(file) {
  const r = spawnSync(FFPROBE, ['-v', 'error', '-show_entries', 'stream=codec_type,duration', '-of', 'json', file]);
  assert.equal(r.status, 0, String(r.stderr));
  return JSON.parse(String(r.stdout)).streams.map((s) => ({ type: s.codec_type, duration: Number(s.duration) }));
}

function files(dir) {
  return existsSync(dir) ? readdirSync(dir) : [];
}

// A GET, once more when a kept-alive connection was closed under it: the
// server closes idle ones after 5 s (--idle-timeout), and a slow step of
// the test (ffprobe on a loaded machine) can take longer than that.
async function get(server, p, headers) {
  try {
    return await api(server, 'GET', p, undefined, headers);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    return api(server, 'GET', p, undefined, headers);
  }
}

async function newProject(server) {
  const r = await api(server, 'POST', '/api/projects', { name: 'dub', format: 'srt', text: SRT });
  assert.equal(r.status, 201, r.text);
  return r.json.id;
}

// A raw-body upload (api() would send a Buffer as JSON).
async function put(server, id, bytes, headers = { 'Content-Type': 'video/mp4' }, query = '?name=clip.mp4') {
  const res = await fetch(`${server.base}/api/projects/${id}/video${query}`, { method: 'PUT', headers, body: bytes });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : null };
}

describe('a project\'s video', () => {
  let server, dir, video, bytes;
  before(async () => {
    dir = tempDir('kk-video-');
    video = makeVideo(dir);
    bytes = readFileSync(video);
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
    removeDir(server?.data);
    removeDir(dir);
  });

  test('a 5 GiB upload is taken (no early 413); cut off part way, it leaves no file', async () => {
    const id = await newProject(server);
    const uploads = () => files(path.join(server.data, 'tmp')).filter((f) => f.startsWith('upload.'));
    await new Promise((resolve, reject) => {
      let answer = '';
      const sock = net.connect(server.port, '127.0.0.1', () => {
        sock.write(`PUT /api/projects/${id}/video HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n` +
          `Content-Type: video/mp4\r\nContent-Length: ${5 * 2 ** 30}\r\n\r\n`);
        sock.write(bytes, () => {
          setTimeout(() => {
            assert.equal(answer, ''); // still reading: the limit is 16 GiB
            const up = uploads();
            assert.equal(up.length, 1); // being written, to disk
            assert.equal(statSync(path.join(server.data, 'tmp', up[0])).size, bytes.length);
            sock.destroy();
            resolve();
          }, 500);
        });
      });
      sock.on('data', (d) => { answer += d; });
      sock.on('error', reject);
    });
    for (let i = 0; i < 50 && uploads().length; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(uploads(), []);
    assert.equal((await get(server, `/api/projects/${id}/video`)).status, 404);
  });

  test('upload (raw body), info, Range requests', async () => {
    const id = await newProject(server);
    const r = await put(server, id, bytes);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.name, 'clip.mp4');
    assert.equal(r.json.type, 'video/mp4');
    assert.equal(r.json.size, bytes.length);
    assert.ok(Math.abs(r.json.duration_ms - 6000) < 50, `duration ${r.json.duration_ms}`);
    assert.equal(r.json.has_audio, true);
    assert.deepEqual([r.json.width, r.json.height], [160, 120]);
    assert.deepEqual(files(path.join(server.data, 'tmp')).filter((f) => f.startsWith('upload.')), []);
    const info = (await get(server, `/api/projects/${id}/video/info`)).json;
    assert.equal(info.attached, true);
    assert.equal(info.size, bytes.length);

    const whole = await get(server, `/api/projects/${id}/video`);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('accept-ranges'), 'bytes');
    assert.equal(whole.headers.get('content-type'), 'video/mp4');
    assert.ok(whole.bytes.equals(bytes));

    const first = await get(server, `/api/projects/${id}/video`, { Range: 'bytes=0-99' });
    assert.equal(first.status, 206);
    assert.equal(first.headers.get('content-range'), `bytes 0-99/${bytes.length}`);
    assert.equal(first.headers.get('content-length'), '100');
    assert.ok(first.bytes.equals(bytes.subarray(0, 100)));

    const mid = await get(server, `/api/projects/${id}/video`, { Range: 'bytes=1000-' });
    assert.equal(mid.status, 206);
    assert.ok(mid.bytes.equals(bytes.subarray(1000)));
    const tail = await get(server, `/api/projects/${id}/video`, { Range: 'bytes=-10' });
    assert.equal(tail.status, 206);
    assert.ok(tail.bytes.equals(bytes.subarray(bytes.length - 10)));
    const past = await get(server, `/api/projects/${id}/video`, { Range: `bytes=0-${bytes.length + 500}` });
    assert.equal(past.status, 206); // cut to the end
    assert.equal(past.bytes.length, bytes.length);

    for (const bad of [`bytes=${bytes.length}-`, 'bytes=50-10', 'bytes=abc', 'bytes=-0']) {
      const b = await get(server, `/api/projects/${id}/video`, { Range: bad });
      assert.equal(b.status, 416, bad);
      assert.equal(b.headers.get('content-range'), `bytes */${bytes.length}`);
      assert.match(b.json.error.message, /bytes/);
    }
    // another unit, several ranges: the whole file (RFC 9110 lets a server ignore them)
    assert.equal((await get(server, `/api/projects/${id}/video`, { Range: 'items=0-1' })).status, 200);
    assert.equal((await get(server, `/api/projects/${id}/video`, { Range: 'bytes=0-1,5-6' })).status, 200);
  });

  test('a form replaces the video; the old file goes', async () => {
    const id = await newProject(server);
    assert.equal((await put(server, id, bytes)).status, 201);
    const mine = () => files(path.join(server.data, 'videos')).filter((f) => f.startsWith(`${id}-`) && !f.endsWith('.peaks.json'));
    const before = mine();
    assert.equal(before.length, 1);
    const f = new FormData();
    f.append('note', 'ignored');
    f.append('video', new Blob([bytes], { type: 'video/mp4' }), 'second.mp4');
    const r = await api(server, 'PUT', `/api/projects/${id}/video`, f);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.name, 'second.mp4');
    const now = mine();
    assert.equal(now.length, 1);
    assert.notEqual(now[0], before[0]);
    // a long name is shortened at a character boundary (200 bytes at most)
    const long = await put(server, id, bytes, { 'Content-Type': 'video/mp4' }, `?name=${encodeURIComponent('é'.repeat(150) + '.mp4')}`);
    assert.equal(long.status, 201, long.text);
    assert.ok(Buffer.byteLength(long.json.name) <= 200 && /^é+$/.test(long.json.name), long.json.name);
    assert.equal((await api(server, 'PUT', `/api/projects/${id}/video`, f)).status, 201); // back to second.mp4
    // two files in one form: refused, the video stays
    const two = new FormData();
    two.append('a', new Blob([bytes]), 'a.mp4');
    two.append('b', new Blob([bytes]), 'b.mp4');
    const t = await api(server, 'PUT', `/api/projects/${id}/video`, two);
    assert.equal(t.status, 400);
    assert.match(t.json.error.message, /one video/);
    assert.equal((await get(server, `/api/projects/${id}/video/info`)).json.name, 'second.mp4');
  });

  test('what is not a video is refused and leaves nothing', async () => {
    const id = await newProject(server);
    const r = await put(server, id, Buffer.from('just some text, not a video\n'.repeat(100)), { 'Content-Type': 'video/mp4' });
    assert.equal(r.status, 415, r.text);
    const wav = spawnSync(FFMPEG, ['-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=duration=1', '-f', 'wav', '-']).stdout;
    const a = await put(server, id, wav, { 'Content-Type': 'audio/wav' }, '?name=a.wav');
    assert.equal(a.status, 415);
    assert.match(a.json.error.message, /no video stream/);
    const e = await put(server, id, Buffer.alloc(0));
    assert.equal(e.status, 400);
    assert.equal((await get(server, `/api/projects/${id}/video`)).status, 404);
    assert.deepEqual((await get(server, `/api/projects/${id}/video/info`)).json, { attached: false });
    assert.equal((await get(server, '/api/projects/999999/video/info')).status, 404);
    assert.deepEqual(files(path.join(server.data, 'tmp')).filter((f) => f.startsWith('upload.')), []);
    // a project that does not exist: answered before the body
    assert.equal((await put(server, 999999, bytes)).status, 404);
  });

  test('delete the video, then with the project', async () => {
    const id = await newProject(server);
    assert.equal((await put(server, id, bytes)).status, 201);
    assert.equal((await get(server, `/api/projects/${id}/video/peaks`)).status, 200); // a cache file beside it
    const mine = () => files(path.join(server.data, 'videos')).filter((f) => f.startsWith(`${id}-`));
    assert.equal(mine().length, 2);
    assert.equal((await api(server, 'DELETE', `/api/projects/${id}/video`)).status, 204);
    assert.deepEqual(mine(), []);
    assert.equal((await get(server, `/api/projects/${id}/video`)).status, 404);
    assert.equal((await api(server, 'DELETE', `/api/projects/${id}/video`)).status, 404);
    assert.equal((await put(server, id, bytes)).status, 201);
    assert.equal(mine().length, 1);
    assert.equal((await api(server, 'DELETE', `/api/projects/${id}`)).status, 204);
    assert.deepEqual(mine(), []);
  });

  test('the original\'s peaks', async () => {
    const id = await newProject(server);
    assert.equal((await put(server, id, bytes)).status, 201);
    const p = await get(server, `/api/projects/${id}/video/peaks`);
    assert.equal(p.status, 200);
    assert.equal(p.json.has_audio, true);
    assert.equal(p.json.per_second, 100);
    assert.ok(Math.abs(p.json.peaks.length - 600) <= 3, `${p.json.peaks.length} peaks`);
    // ffmpeg's sine is at 1/8 of full scale
    const mid = p.json.peaks.slice(100, 500);
    assert.ok(mid.every((v) => v > 0.1 && v < 0.15), JSON.stringify(mid.slice(0, 5)));
    const again = await get(server, `/api/projects/${id}/video/peaks`); // from the cache
    assert.deepEqual(again.json, p.json);
  });

  test('the dubbed video: replace, add, duck', async () => {
    const id = await newProject(server);
    assert.equal((await put(server, id, bytes)).status, 201);
    await waitRendered(server, id);
    const out = (name) => path.join(dir, name);
    const rep = await get(server, `/api/projects/${id}/video/export?mix=replace`);
    assert.equal(rep.status, 200, rep.text);
    assert.equal(rep.headers.get('content-type'), 'video/mp4');
    assert.match(rep.headers.get('content-disposition'), /dub\.mp4/);
    writeFileSync(out('rep.mp4'), rep.bytes);
    let s = probe(out('rep.mp4'));
    assert.deepEqual(s.map((x) => x.type), ['video', 'audio']);
    // the cues end at 4 s: the audio lasts as long as the 6 s video
    assert.ok(Math.abs(s[1].duration - 6) < 0.1, JSON.stringify(s));

    const add = await get(server, `/api/projects/${id}/video/export?mix=add`);
    writeFileSync(out('add.mp4'), add.bytes);
    s = probe(out('add.mp4'));
    assert.deepEqual(s.map((x) => x.type), ['video', 'audio', 'audio']);

    const duck = await get(server, `/api/projects/${id}/video/export?mix=duck&duck_db=-20&attack_ms=30&release_ms=200`);
    assert.equal(duck.status, 200, duck.text);
    writeFileSync(out('duck.mp4'), duck.bytes);
    s = probe(out('duck.mp4'));
    assert.deepEqual(s.map((x) => x.type), ['video', 'audio']);
    assert.ok(Math.abs(s[1].duration - 6) < 0.1, JSON.stringify(s));

    for (const q of ['mix=loud', 'mix=duck&duck_db=5', 'mix=duck&attack_ms=x', 'container=avi']) {
      const b = await get(server, `/api/projects/${id}/video/export?${q}`);
      assert.equal(b.status, 400, q);
    }
    const none = await newProject(server);
    assert.equal((await get(server, `/api/projects/${none}/video/export`)).status, 404);
  });
});

describe('upload limits and failures', () => {
  let server, dir, bytes;
  before(async () => {
    dir = tempDir('kk-video-limit-');
    bytes = readFileSync(makeVideo(dir, 'big.mp4', 30));
    server = await startServer({ args: ['--max-video-mb', '0.05'] }); // ~52 KB
  });
  after(async () => {
    await server?.stop();
    removeDir(server?.data);
    removeDir(dir);
  });

  const uploads = () => files(path.join(server.data, 'tmp')).filter((f) => f.startsWith('upload.'));

  test('over the limit: 413 at once, or as the body passes it', async () => {
    assert.ok(bytes.length > 60000, `${bytes.length} bytes`);
    const id = await newProject(server);
    const r = await put(server, id, bytes);
    assert.equal(r.status, 413);
    assert.match(r.json.error.message, /--max-video-mb/);
    // chunked, no length: read until it passes the limit
    const chunks = [];
    for (let i = 0; i < bytes.length; i += 8192) chunks.push(bytes.subarray(i, i + 8192));
    const c = await raw(server, { method: 'PUT', path: `/api/projects/${id}/video`, headers: { 'Content-Type': 'video/mp4',
      'Transfer-Encoding': 'chunked', Host: `127.0.0.1:${server.port}` }, chunks });
    assert.equal(c.status, 413);
    assert.deepEqual(uploads(), []);
    assert.equal((await get(server, `/api/projects/${id}/video`)).status, 404);
  });

  test('at start: leftovers of a crash are swept', async () => {
    const id = await newProject(server);
    await server.stop();
    mkdirSync(path.join(server.data, 'videos'), { recursive: true });
    writeFileSync(path.join(server.data, 'videos', `${id}-deadbeef.mp4`), 'orphan');
    writeFileSync(path.join(server.data, 'tmp', 'upload.abcdef.tmp'), 'half an upload');
    const data = server.data;
    server = await startServer({ data, args: ['--max-video-mb', '0.05'] });
    assert.deepEqual(files(path.join(data, 'videos')), []);
    assert.deepEqual(uploads(), []);
    assert.match(server.stderr(), /removed 1 video file/);
  });
});
