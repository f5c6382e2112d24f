// openai.test.mjs - the OpenAI-compatible speech API (docs/api.md,
// "OpenAI-compatible API") driven by the real clients: the official `openai`
// npm package (pinned in openai-client/package-lock.json; CTest's
// server_openai_npm fixture runs `npm ci` there), and requests shaped
// exactly as open-webui and SillyTavern send them. Every format is decoded
// back with FFmpeg and its length checked. `kokoro serve` on the real model.
// By hand, from the repository root (after npm ci in openai-client):
//   KOKORO_BIN=build/kokoro node --test src/server/tests/openai.test.mjs
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KOKORO, api, removeDir, startServer, tempDir, waitRendered } from './helper.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, 'openai-client', 'package.json'));
const OpenAI = require('openai').default ?? require('openai');
const RATE = 24000;
const TWO = 'Hello from Kokoro Studio. This is the second sentence.';
const FORMATS = { mp3: 'audio/mpeg', opus: 'audio/ogg', aac: 'audio/aac', flac: 'audio/flac', wav: 'audio/wav', pcm: 'audio/pcm' };

let srv, client, tmp;

// Seconds of audio in bytes of format fmt, decoded by FFmpeg (all of it, to
// 16-bit mono at 24 kHz, and counted: not a header's guess).
function decodedSeconds(bytes, fmt) {
  if (fmt === 'pcm') return bytes.length / 2 / RATE;
  const file = path.join(tmp, `decode.${fmt === 'opus' ? 'ogg' : fmt}`);
  writeFileSync(file, bytes);
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 's16le', '-ac', '1', '-ar', String(RATE), '-'],
    { maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, `ffmpeg could not decode the ${fmt}: ${r.stderr}`);
  assert.equal(r.stderr.length, 0, `ffmpeg complained about the ${fmt}: ${r.stderr}`);
  return r.stdout.length / 2 / RATE;
}

function ffprobeCodec(bytes, fmt) {
  const file = path.join(tmp, `probe.${fmt === 'opus' ? 'ogg' : fmt}`);
  writeFileSync(file, bytes);
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,sample_rate,channels', '-of', 'json', file]);
  assert.equal(r.status, 0, String(r.stderr));
  return JSON.parse(r.stdout).streams[0];
}

async function metrics(server) {
  const r = await api(server, 'GET', '/metrics');
  assert.equal(r.status, 200);
  const v = {};
  for (const line of r.text.split('\n')) {
    const m = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) v[m[1]] = Number(m[2]);
  }
  return { text: r.text, v };
}

before(async () => {
  tmp = tempDir('kk-openai-');
  // A long idle timeout: the test blocks its event loop in FFmpeg between
  // requests, and on a loaded machine a keep-alive connection closed by the
  // server after 5 s idle could meet the client's next request (a race of
  // any keep-alive client, not what is tested here).
  srv = await startServer({ args: ['--log-requests', '--idle-timeout', '60'] });
  client = new OpenAI({ baseURL: `${srv.base}/v1`, apiKey: 'sk-anything', maxRetries: 0 });
});

after(async () => {
  if (srv) {
    await srv.stop();
    removeDir(srv.data);
  }
  if (tmp) removeDir(tmp);
});

describe('the openai npm package', () => {
  let pcmSeconds;

  test('speech to a file in every format, each decoding back to the right length', async () => {
    const pcm = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: TWO, response_format: 'pcm' });
    assert.equal(pcm.headers.get('content-type'), 'audio/pcm');
    const raw = Buffer.from(await pcm.arrayBuffer());
    pcmSeconds = raw.length / 2 / RATE;
    assert.ok(pcmSeconds > 2 && pcmSeconds < 8, `two sentences are ${pcmSeconds} s`);
    for (const [fmt, type] of Object.entries(FORMATS)) {
      const res = await client.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'alloy', input: TWO, response_format: fmt,
        instructions: 'Speak in a cheerful tone.' });
      assert.equal(res.headers.get('content-type'), type, fmt);
      const bytes = Buffer.from(await res.arrayBuffer());
      const file = path.join(tmp, `speech.${fmt}`);
      writeFileSync(file, bytes);
      const got = decodedSeconds(bytes, fmt);
      // Lossy codecs carry their encoder delay and last frame's padding
      // (no seekable header to say so in a stream): at most ~0.12 s.
      const slack = fmt === 'mp3' || fmt === 'aac' ? 0.15 : fmt === 'opus' ? 0.03 : 0.001;
      assert.ok(Math.abs(got - pcmSeconds) <= slack, `${fmt}: ${got} s decoded, ${pcmSeconds} s made`);
      if (fmt !== 'pcm') {
        const st = ffprobeCodec(bytes, fmt);
        assert.equal(st.codec_name, { mp3: 'mp3', opus: 'opus', aac: 'aac', flac: 'flac', wav: 'pcm_s16le' }[fmt]);
        assert.equal(st.channels, 1);
      }
    }
    // mp3 is the default, as OpenAI's
    const def = await client.audio.speech.create({ model: 'kokoro', voice: 'af_heart', input: 'Default format.' });
    assert.equal(def.headers.get('content-type'), 'audio/mpeg');
    assert.equal(ffprobeCodec(Buffer.from(await def.arrayBuffer()), 'mp3').codec_name, 'mp3');
  });

  test('streamed speech: the body comes chunk by chunk, the first after the first sentence', async () => {
    const input = 'The first sentence is short. The second one follows it. A third one ends the stream, a little longer than the rest.';
    const t0 = Date.now();
    const res = await client.audio.speech.create({ model: 'tts-1', voice: 'af_bella', input, response_format: 'pcm' });
    const times = [];
    let total = 0;
    for await (const chunk of res.body) {
      times.push(Date.now() - t0);
      total += chunk.length;
    }
    const end = Date.now() - t0;
    assert.equal(res.headers.get('x-cache'), 'miss');
    assert.ok(times.length >= 3, `${times.length} chunks`);
    assert.ok(times[0] < end * 0.6, `first bytes at ${times[0]} ms of ${end} ms`);
    assert.ok(total / 2 / RATE > 4);
  });

  test('stream_format sse: speech.audio.delta events of base64 audio, then speech.audio.done with usage', async () => {
    const res = await client.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'nova', input: TWO, response_format: 'wav',
      stream_format: 'sse' });
    assert.match(res.headers.get('content-type'), /^text\/event-stream/);
    const text = await res.text();
    const events = text.split('\n\n').filter(Boolean).map((b) => JSON.parse(b.replace(/^data: /, '')));
    const deltas = events.filter((e) => e.type === 'speech.audio.delta');
    assert.ok(deltas.length >= 2, `${deltas.length} deltas`);
    const done = events.at(-1);
    assert.equal(done.type, 'speech.audio.done');
    assert.ok(done.usage.input_tokens > 0 && done.usage.output_tokens > 0);
    assert.equal(done.usage.total_tokens, done.usage.input_tokens + done.usage.output_tokens);
    const audio = Buffer.concat(deltas.map((e) => Buffer.from(e.audio, 'base64')));
    const plain = await client.audio.speech.create({ model: 'tts-1', voice: 'nova', input: TWO, response_format: 'pcm' });
    const plainSeconds = Buffer.from(await plain.arrayBuffer()).length / 2 / RATE;
    assert.ok(Math.abs(decodedSeconds(audio, 'wav') - plainSeconds) < 0.002, 'the same speech as the plain answer');
  });

  test('identical requests come from the cache, byte for byte', async () => {
    const ask = () => client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: TWO, response_format: 'flac' });
    // (the SDK answers at the headers: the first body is read whole, and so
    // cached, before the second is asked for)
    const a = Buffer.from(await (await ask()).arrayBuffer());
    const b = await ask();
    assert.equal(b.headers.get('x-cache'), 'hit');
    assert.deepEqual(a, Buffer.from(await b.arrayBuffer()));
    const m = await metrics(srv);
    assert.ok(m.v.kokoro_speech_cache_hits_total >= 1);
  });

  test('error objects it parses: 404 unknown voice, 400 bad field, 413 too long, 404 unknown model', async () => {
    const bad = async (body, status, param) => {
      await assert.rejects(client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Hi.', ...body }), (e) => {
        assert.ok(e instanceof OpenAI.APIError, String(e));
        assert.equal(e.status, status);
        assert.equal(typeof e.error.message, 'string');
        assert.equal(typeof e.error.type, 'string');
        assert.equal(e.param ?? null, param);
        assert.ok(e.code);
        return true;
      });
    };
    await bad({ voice: 'nobody' }, 404, 'voice');
    await bad({ voice: 'af_bella(x)+af_sky' }, 400, 'voice');
    await bad({ speed: 5 }, 400, 'speed');
    await bad({ speed: 0.1 }, 400, 'speed');
    await bad({ response_format: 'ogg' }, 400, 'response_format');
    await bad({ input: '   ' }, 400, 'input');
    await bad({ input: 'x'.repeat(4097) }, 413, 'input');
    await assert.rejects(client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Hi.', response_format: 'mp3',
      stream_format: 'websocket' }), (e) => e.status === 400 && e.param === 'stream_format');
    await assert.rejects(client.models.retrieve('whisper-1'), (e) => e instanceof OpenAI.NotFoundError && e.error.type === 'not_found_error');
    const ok = await client.models.retrieve('tts-1');
    assert.equal(ok.id, 'tts-1');
    const list = await client.models.list();
    assert.deepEqual(list.data.map((m) => m.id).sort(), ['gpt-4o-mini-tts', 'kokoro', 'tts-1', 'tts-1-hd']);
  });

  test('voices: ids, OpenAI names, blends in both notations, the {"id"} object; speed 0.25 .. 4', async () => {
    const seconds = async (voice, speed = 1) => {
      const r = await client.audio.speech.create({ model: 'tts-1', voice, input: 'One two three four.', response_format: 'pcm', speed });
      return Buffer.from(await r.arrayBuffer()).length / 2 / RATE;
    };
    const base = await seconds('af_heart');
    for (const v of ['shimmer', 'af_bella(2)+af_sky(1)', 'af_heart:0.7,am_michael:0.3', { id: 'onyx' }, 'AF_BELLA+af_sky'.toLowerCase()])
      assert.ok((await seconds(v)) > 0.5, JSON.stringify(v));
    for (const speed of [0.25, 0.5, 2, 4]) {
      const s = await seconds('af_heart', speed);
      const want = base / speed;
      assert.ok(Math.abs(s - want) / want < 0.25, `speed ${speed}: ${s} s, about ${want} s wanted`);
    }
  });

  test('our markup works in input: [pause:1000ms] adds a second, [word](/phonemes/) is spoken as written', async () => {
    const pcm = async (input) => Buffer.from(await (await client.audio.speech.create({ model: 'tts-1', voice: 'af_heart', input,
      response_format: 'pcm' })).arrayBuffer());
    const plain = (await pcm('One. Two.')).length / 2 / RATE;
    const paused = (await pcm('One. [pause:1000ms] Two.')).length / 2 / RATE;
    // a second of silence in place of the sentence's own pause (a few hundred ms)
    assert.ok(paused - plain > 0.5 && paused - plain < 1.5, `${plain} s, with the pause ${paused} s`);
    const a = await pcm('I say [tomato](/təmˈɑːtoʊ/).'), b = await pcm('I say tomato.');
    assert.ok(!a.equals(b), 'the phonemes given were used');
  });

  test('401 for a missing or wrong token when the token is on; the token as the API key works', async () => {
    const guarded = await startServer({ args: ['--require-token', '--token', 'a-token-of-twenty-chars'] });
    try {
      const wrong = new OpenAI({ baseURL: `${guarded.base}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
      await assert.rejects(wrong.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Hi.' }), (e) => {
        assert.ok(e instanceof OpenAI.AuthenticationError, String(e));
        assert.equal(e.error.type, 'authentication_error');
        assert.equal(e.code, 'invalid_api_key');
        return true;
      });
      const none = await fetch(`${guarded.base}/v1/models`);
      assert.equal(none.status, 401);
      assert.equal((await none.json()).error.type, 'authentication_error');
      const right = new OpenAI({ baseURL: `${guarded.base}/v1`, apiKey: 'a-token-of-twenty-chars', maxRetries: 0 });
      assert.ok((await right.models.list()).data.length >= 1);
    } finally {
      await guarded.stop();
      removeDir(guarded.data);
    }
  });
});

describe('requests as open-webui and SillyTavern send them', () => {
  test('open-webui: GET /audio/models and /audio/voices, then POST /audio/speech with its headers', async () => {
    // open-webui's backend (routers/audio.py) with TTS_ENGINE=openai and
    // TTS_OPENAI_API_BASE_URL=http://host:port/v1: it reads .models[].id and
    // .voices[] {id, name}, and posts {input, voice, model} plus its params.
    const headers = { Authorization: 'Bearer sk-111111111', 'Content-Type': 'application/json' };
    const models = await (await fetch(`${srv.base}/v1/audio/models`, { headers })).json();
    assert.ok(models.models.some((m) => m.id === 'tts-1'));
    const voices = await (await fetch(`${srv.base}/v1/audio/voices`, { headers })).json();
    const map = Object.fromEntries(voices.voices.map((v) => [v.id, v.name]));
    assert.ok(map.af_heart && map.alloy, 'Kokoro voices and OpenAI names are listed');
    assert.ok(!voices.voices.some((v) => v.id.startsWith('j') || v.id.startsWith('z')), 'voices the engine cannot speak are not offered');
    const res = await fetch(`${srv.base}/v1/audio/speech`, {
      method: 'POST', headers,
      body: JSON.stringify({ input: 'Hello from open web UI.', voice: 'af_heart', model: 'tts-1' }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'audio/mpeg');
    assert.ok(decodedSeconds(Buffer.from(await res.arrayBuffer()), 'mp3') > 0.8);
  });

  test('SillyTavern: its OpenAI-compatible provider\'s body, Accept and an empty key', async () => {
    // SillyTavern (tts/openai-compatible.js, forwarded by its server) posts
    // {input, voice, speed, model, response_format: 'mp3'} with the key as
    // Bearer (empty when none is set) and Accept: audio/mpeg.
    const res = await fetch(`${srv.base}/v1/audio/speech`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ', Accept: 'audio/mpeg' },
      body: JSON.stringify({ input: '*waves* Nice to meet you!', voice: 'af_sky', speed: 1.2, model: 'tts-1', response_format: 'mp3' }),
    });
    assert.equal(res.status, 200);
    assert.ok(decodedSeconds(Buffer.from(await res.arrayBuffer()), 'mp3') > 0.5);
    // openai-python's Accept
    const py = await fetch(`${srv.base}/v1/audio/speech`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/octet-stream' },
      body: JSON.stringify({ input: '*waves* Nice to meet you!', voice: 'af_sky', speed: 1.2, model: 'tts-1', response_format: 'mp3' }),
    });
    assert.equal(py.status, 200);
    assert.equal(py.headers.get('x-cache'), 'hit');
  });
});

describe('captions, disconnects, the queue, the studio, metrics', () => {
  test('captioned_speech: JSON with base64 audio and word timestamps; NDJSON when streamed', async () => {
    const input = 'Captions follow every word here. And here too.';
    const one = await api(srv, 'POST', '/v1/audio/captioned_speech', { model: 'kokoro', input, voice: 'af_heart', response_format: 'wav', stream: false });
    assert.equal(one.status, 200, one.text);
    const words = one.json.timestamps.map((t) => t.word);
    assert.deepEqual(words.map((w) => w.replace(/[.,]/g, '')), ['Captions', 'follow', 'every', 'word', 'here', 'And', 'here', 'too']);
    const secs = decodedSeconds(Buffer.from(one.json.audio, 'base64'), 'wav');
    let last = 0;
    for (const t of one.json.timestamps) {
      assert.ok(t.start_time >= last - 1e-9 && t.end_time > t.start_time, JSON.stringify(t));
      last = t.end_time;
    }
    assert.ok(last <= secs + 0.01);
    const nd = await api(srv, 'POST', '/v1/audio/captioned_speech', { model: 'kokoro', input, voice: 'af_heart', response_format: 'wav' });
    assert.equal(nd.status, 200);
    assert.match(nd.headers.get('content-type'), /ndjson/);
    const lines = nd.text.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.length >= 2);
    assert.deepEqual(lines.flatMap((l) => l.timestamps.map((t) => t.word)), words);
    const audio = Buffer.concat(lines.map((l) => Buffer.from(l.audio, 'base64')));
    assert.ok(Math.abs(decodedSeconds(audio, 'wav') - secs) < 0.002);
  });

  test('a client that disconnects mid-stream stops its synthesis at once', async () => {
    const input = Array.from({ length: 30 }, (_, i) => `This is sentence number ${i + 1} of a long text nobody will hear.`).join(' ');
    const ctl = new AbortController();
    const res = await fetch(`${srv.base}/v1/audio/speech`, {
      method: 'POST', signal: ctl.signal, headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'tts-1', input, voice: 'am_adam', response_format: 'pcm' }),
    });
    const reader = res.body.getReader();
    await reader.read(); // the first sentence
    const before = (await metrics(srv)).v;
    ctl.abort();
    const t0 = Date.now();
    let m;
    for (;;) {
      m = (await metrics(srv)).v;
      if (m.kokoro_speech_active === 0 && m.kokoro_speech_requests_total > before.kokoro_speech_requests_total) break;
      assert.ok(Date.now() - t0 < 5000, 'synthesis still running 5 s after the client left');
      await new Promise((r) => setTimeout(r, 50));
    }
    const made = m.kokoro_audio_seconds_total - before.kokoro_audio_seconds_total;
    assert.ok(made < 20, `${made} s of audio made after the disconnect (the text is ~90 s)`);
    // The request's log line is written when MHD tears the connection
    // down, which may come a moment after the job's end that the metrics
    // count: wait for it (within the same 5 s), then match it.
    const closed = /POST \/v1\/audio\/speech 200 [\d.]+ ms \(connection closed early\)/;
    while (!closed.test(srv.stderr()) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
    assert.match(srv.stderr(), closed);
  });

  test('429 when the queue is full, in OpenAI\'s shape', async () => {
    const busy = await startServer({ args: ['--speech-workers', '1', '--speech-queue', '1'] });
    try {
      const c = new OpenAI({ baseURL: `${busy.base}/v1`, apiKey: 'x', maxRetries: 0 });
      // One being made, one waiting: the others, sent at the same moment, are refused.
      const asks = [0, 1, 2, 3].map((i) => c.audio.speech.create({ model: 'tts-1', voice: 'af_heart', input: `Request ${i + 1}.`, response_format: 'pcm' })
        .then(async (r) => { await r.arrayBuffer(); return 200; }, (e) => e));
      const got = await Promise.all(asks);
      const limited = got.filter((g) => g instanceof OpenAI.RateLimitError);
      assert.ok(limited.length >= 1, JSON.stringify(got.map((g) => g.status ?? g)));
      assert.equal(limited[0].error.type, 'rate_limit_error');
      assert.ok(got.includes(200));
    } finally {
      await busy.stop();
      removeDir(busy.data);
    }
  });

  test('precision: the endpoint\'s default is fast (exact where the CPU lacks AMX, said once at start), --speech-precision exact, bad values refused', async () => {
    const r = await fetch(`${srv.base}/v1/audio/speech`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'tts-1', voice: 'af_heart', input: 'Which precision made me?', response_format: 'pcm' }) });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    const made = r.headers.get('x-kokoro-precision');
    assert.ok(made === 'fast' || made === 'exact', String(made));
    const fallbacks = (srv.stderr().match(/fast mode unavailable/g) || []).length;
    assert.equal(fallbacks, made === 'exact' ? 1 : 0, srv.stderr());
    // exact asked: exact made, on the same cache directory as the default
    // server's: a fast answer is not served from it (where fast runs)
    const ex = await startServer({ args: ['--speech-precision', 'exact', '--precision', 'exact'], cache: srv.cache });
    try {
      const a = await fetch(`${ex.base}/v1/audio/speech`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ model: 'tts-1', voice: 'af_heart', input: 'Which precision made me?', response_format: 'pcm' }) });
      assert.equal(a.status, 200);
      await a.arrayBuffer();
      assert.equal(a.headers.get('x-kokoro-precision'), 'exact');
      assert.doesNotMatch(ex.stderr(), /fast mode unavailable/);
      // the default server's entry is on disk; it is this one's only when both made exact audio
      assert.equal(a.headers.get('x-cache'), made === 'exact' ? 'hit' : 'miss');
    } finally {
      await ex.stop();
      removeDir(ex.data);
    }
    for (const flag of ['--precision', '--speech-precision']) {
      const bad = spawnSync(KOKORO, ['serve', '--port', '0', flag, 'turbo'], { encoding: 'utf8' });
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, new RegExp(`${flag}: "turbo" is not a precision; use exact .* or fast`));
    }
  });

  test('speech goes before the studio\'s background render, which resumes and completes after', async () => {
    const text = Array.from({ length: 3 }, (_, i) => `Studio paragraph ${i + 1}.`).join('\n\n');
    const p = (await api(srv, 'POST', '/api/projects', { text })).json;
    const res = await client.audio.speech.create({ model: 'tts-1', voice: 'af_heart', input: 'Interactive speech first. Then the studio.', response_format: 'pcm' });
    assert.ok(Buffer.from(await res.arrayBuffer()).length > RATE);
    const done = await waitRendered(srv, p.id, 120000);
    assert.ok(done.segments.every((s) => s.status === 'ready'));
    await api(srv, 'DELETE', `/api/projects/${p.id}`);
  });

  test('GET /metrics: Prometheus text with requests, latency, first audio, audio and synthesis seconds, cache, memory', async () => {
    const { text, v } = await metrics(srv);
    for (const name of ['kokoro_http_requests_total', 'kokoro_http_request_duration_seconds', 'kokoro_speech_first_audio_seconds',
      'kokoro_audio_seconds_total', 'kokoro_synthesis_seconds_total', 'kokoro_render_cache_hits_total', 'kokoro_render_cache_misses_total',
      'kokoro_render_cache_bytes', 'kokoro_speech_queue_depth', 'kokoro_segments_pending', 'process_resident_memory_bytes',
      'kokoro_resident_memory_bytes', 'kokoro_heap_bytes', 'kokoro_studio_audio_bytes', 'kokoro_studio_audio_budget_bytes'])
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    assert.ok(v['kokoro_http_requests_total{route="/v1/audio/speech",method="POST",status="200"}'] >= 5);
    assert.ok(v['kokoro_http_requests_total{route="/v1/audio/speech",method="POST",status="404"}'] >= 1);
    assert.ok(v.kokoro_audio_seconds_total > 3 && v.kokoro_synthesis_seconds_total > 0);
    // One engine turn at a time: synthesis seconds never add up to more than the server has run.
    assert.ok(v.kokoro_synthesis_seconds_total <= Date.now() / 1000 - v.process_start_time_seconds + 1,
      `${v.kokoro_synthesis_seconds_total} s of synthesis in ${Date.now() / 1000 - v.process_start_time_seconds} s`);
    assert.ok(v.kokoro_speech_first_audio_seconds_count >= 3);
    assert.ok(v.process_resident_memory_bytes > 50e6);
    // (how much of the mapped model stays resident is the kernel's choice: only some, see api.test.mjs)
    assert.ok(v['kokoro_resident_memory_bytes{kind="file"}'] > 1e6, 'the mapped model is file-backed');
    assert.equal(v.kokoro_studio_audio_budget_bytes, 256 * 1024 * 1024);
    const act = await api(srv, 'GET', '/api/activity');
    assert.equal(act.status, 200);
    assert.ok(act.json.speech.requests >= 5 && act.json.rss_bytes > 0 && act.json.cache.hit_rate >= 0);
    // --log-requests: one line per request
    assert.match(srv.stderr(), /GET \/metrics 200 [\d.]+ ms/);
  });
});
