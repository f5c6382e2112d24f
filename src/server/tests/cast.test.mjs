// cast.test.mjs - issue 15 over real HTTP: speakers and the cast (a
// speaker's voice re-renders that speaker's lines only), per-speaker stems
// (a zip of full-length WAVs that add up to the track), subtitle exports
// that keep speakers with cue or speech times, audio export options, and
// uploads in other encodings (detected, shown, chosen). `kokoro serve` on
// the real model. Run by CTest (server_cast) or by hand from the root:
//   KOKORO_BIN=build/kokoro node --test src/server/tests/cast.test.mjs
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { api, form, removeDir, startServer, tempDir, waitRendered } from './helper.mjs';

// Two speakers (ASS Name), short lines: quick renders.
const ASS = `[Script Info]
ScriptType: v4.00+

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:00.50,0:00:02.00,Default,Anna,0,0,0,,Hello Ben.
Dialogue: 0,0:00:02.50,0:00:04.00,Default,Ben,0,0,0,,Hi Anna.
Dialogue: 0,0:00:04.50,0:00:06.00,Default,Anna,0,0,0,,See you.
`;

function wavSamples(bytes) {
  assert.equal(bytes.toString('latin1', 0, 4), 'RIFF');
  let at = 12;
  while (at + 8 <= bytes.length) {
    const id = bytes.toString('latin1', at, at + 4), len = bytes.readUInt32LE(at + 4);
    if (id === 'data') {
      const out = new Int16Array(len / 2);
      for (let i = 0; i < out.length; i++) out[i] = bytes.readInt16LE(at + 8 + 2 * i);
      return { rate: bytes.readUInt32LE(24), samples: out };
    }
    at += 8 + len + (len & 1);
  }
  throw new Error('no data chunk');
}

function peak(a) {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

let server, tmp;
before(async () => {
  server = await startServer();
  tmp = tempDir('kk-cast-');
});
after(async () => {
  await server?.stop();
  removeDir(server?.data);
  removeDir(tmp);
});

describe('speakers and casting', () => {
  let id;
  test('the cast maps speakers to voices; a change re-renders that speaker only', async () => {
    let r = await api(server, 'POST', '/api/projects', form([['duo.ass', ASS]]));
    assert.equal(r.status, 201, r.text);
    id = r.json.id;
    assert.deepEqual(r.json.segments.map((s) => s.speaker), ['Anna', 'Ben', 'Anna']);
    assert.deepEqual(r.json.settings.cast, {});
    let p = await waitRendered(server, id);
    const before = p.segments.map((s) => s.audio_version);

    r = await api(server, 'PATCH', `/api/projects/${id}`, { settings: { cast: { Ben: 'am_adam' } } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.settings.cast, { Ben: 'am_adam' });
    p = await waitRendered(server, id);
    const after1 = p.segments.map((s) => s.audio_version);
    assert.equal(after1[0], before[0], "Anna's lines keep their audio");
    assert.equal(after1[2], before[2]);
    assert.notEqual(after1[1], before[1], "Ben's line is re-rendered in his voice");

    // Merged: another speaker is added, null uncasts; a blend is a voice too.
    r = await api(server, 'PATCH', `/api/projects/${id}`, { settings: { cast: { Anna: 'af_heart:0.5,bf_emma:0.5' } } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.settings.cast, { Ben: 'am_adam', Anna: 'af_heart:0.5,bf_emma:0.5' });
    r = await api(server, 'PATCH', `/api/projects/${id}`, { settings: { cast: { Anna: null } } });
    assert.deepEqual(r.json.settings.cast, { Ben: 'am_adam' });
    // Undo brings the cast back (a settings edit).
    r = await api(server, 'POST', `/api/projects/${id}/undo`);
    assert.equal(r.status, 200, r.text);
    p = (await api(server, 'GET', `/api/projects/${id}`)).json;
    assert.deepEqual(p.settings.cast, { Ben: 'am_adam', Anna: 'af_heart:0.5,bf_emma:0.5' });
    await api(server, 'POST', `/api/projects/${id}/undo`);

    for (const bad of [{ cast: { Ben: 'no_such_voice' } }, { cast: 'Ben' }, { cast: { '': 'am_adam' } },
      { cast: { Ben: 3 } }]) {
      r = await api(server, 'PATCH', `/api/projects/${id}`, { settings: bad });
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.match(r.json.error.message, /settings\.cast/);
    }
  });

  test('a blend can be previewed', async () => {
    const r = await api(server, 'GET', `/api/voices/${encodeURIComponent('af_heart:0.6,am_adam:0.4')}/preview`);
    assert.equal(r.status, 200, r.text);
    assert.ok(peak(wavSamples(r.bytes).samples) > 1000);
    assert.equal((await api(server, 'GET', '/api/voices/af_heart:0.6,zz_nobody:0.4/preview')).status, 404);
  });

  test('subtitle exports keep speakers, with speech or cue times', async () => {
    let r = await api(server, 'GET', `/api/projects/${id}/subtitles?format=vtt&times=cue`);
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /00:00:00\.500 --> 00:00:02\.000\n<v Anna>Hello Ben\./);
    assert.match(r.text, /<v Ben>Hi Anna\./);
    r = await api(server, 'GET', `/api/projects/${id}/subtitles?format=ass&times=cue`);
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /Dialogue: 0,0:00:02\.50,0:00:04\.00,Default,Ben,0,0,0,,Hi Anna\./);
    r = await api(server, 'GET', `/api/projects/${id}/subtitles?format=wscribe`);
    assert.deepEqual(JSON.parse(r.text).map((s) => s.speaker), ['Anna', 'Ben', 'Anna']);
    // Speech times: where the speech sounds, inside (or near) its cue, not the cue's own end.
    r = await api(server, 'GET', `/api/projects/${id}/subtitles?format=srt&times=speech`);
    assert.equal(r.status, 200);
    assert.doesNotMatch(r.text, /00:00:00,500 --> 00:00:02,000/);
    r = await api(server, 'GET', `/api/projects/${id}/subtitles?format=vtt&times=later`);
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /times/);
  });

  test('stems: a zip of full-length WAVs, one per speaker, that add up to the track', async () => {
    let r = await api(server, 'GET', `/api/projects/${id}/stems`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('content-type'), 'application/zip');
    assert.match(r.headers.get('content-disposition'), /stems\.zip/);
    const zip = path.join(tmp, 'stems.zip'), out = path.join(tmp, 'stems');
    writeFileSync(zip, r.bytes);
    mkdirSync(out);
    // Unpacked with Python's zipfile (always there: install-deps has python3).
    const u = spawnSync('python3', ['-c', 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', zip, out]);
    assert.equal(u.status, 0, String(u.stderr));
    assert.deepEqual(readdirSync(out).sort(), ['01 Anna.wav', '02 Ben.wav']);
    const anna = wavSamples(readFileSync(path.join(out, '01 Anna.wav'))).samples;
    const ben = wavSamples(readFileSync(path.join(out, '02 Ben.wav'))).samples;
    const track = wavSamples((await api(server, 'GET', `/api/projects/${id}/track?format=wav`)).bytes).samples;
    assert.equal(anna.length, track.length, 'full length');
    assert.equal(ben.length, track.length);
    // Ben speaks only in 2.5 .. 4 s (with the fit's slack): silent at Anna's lines.
    const at = (s) => Math.round(s * 24000);
    assert.equal(peak(ben.subarray(0, at(2.4))), 0);
    assert.ok(peak(ben.subarray(at(2.5), at(4.2))) > 1000);
    assert.ok(peak(anna.subarray(0, at(2.2))) > 1000);
    // The stems add up to the track (within rounding of the 16-bit samples).
    let worst = 0;
    for (let i = 0; i < track.length; i++) worst = Math.max(worst, Math.abs(anna[i] + ben[i] - track[i]));
    assert.ok(worst <= 2, `stems differ from the mix by ${worst}`);
  });

  test('audio exports: rate, FLAC, MP3 bitrate, loudness', async () => {
    let r = await api(server, 'GET', `/api/projects/${id}/track?format=wav&rate=48000`);
    assert.equal(r.status, 200, r.text);
    assert.equal(wavSamples(r.bytes).rate, 48000);
    r = await api(server, 'GET', `/api/projects/${id}/track?format=wav&rate=44100&normalize=1&lufs=-23`);
    assert.equal(r.status, 200, r.text);
    assert.equal(wavSamples(r.bytes).rate, 44100);
    r = await api(server, 'GET', `/api/projects/${id}/track?format=flac`);
    assert.equal(r.status, 200);
    assert.equal(r.bytes.toString('latin1', 0, 4), 'fLaC');
    const m32 = await api(server, 'GET', `/api/projects/${id}/track?format=mp3&bitrate=32`);
    const m128 = await api(server, 'GET', `/api/projects/${id}/track?format=mp3&bitrate=128`);
    assert.equal(m32.status, 200, m32.text);
    assert.equal(m128.status, 200, m128.text);
    assert.ok(m128.bytes.length > 2 * m32.bytes.length, `${m128.bytes.length} vs ${m32.bytes.length}`);
    // 192 kbps is not an MP3 rate at 24 kHz (MPEG-2 stops at 160): the encoder's 400 says so.
    r = await api(server, 'GET', `/api/projects/${id}/track?format=mp3&bitrate=192`);
    assert.equal(r.status, 400);
    r = await api(server, 'GET', `/api/projects/${id}/track?format=mp3&bitrate=192&rate=48000`);
    assert.equal(r.status, 200, r.text);
    for (const q of ['rate=22050', 'rate=x', 'bitrate=1000', 'normalize=2', 'lufs=0']) {
      r = await api(server, 'GET', `/api/projects/${id}/track?format=wav&${q}`);
      assert.equal(r.status, 400, q);
    }
  });
});

describe('editing that keeps up', () => {
  test('a burst of typing is one undo step (coalesce); the history names the segment', async () => {
    let r = await api(server, 'POST', '/api/projects', { text: 'One.\n\nTwo.\n', format: 'txt' });
    assert.equal(r.status, 201, r.text);
    const id = r.json.id, [a, b] = r.json.segments.map((g) => g.id);
    const P = `/api/projects/${id}/segments`;
    assert.equal((await api(server, 'PATCH', `${P}/${a}`, { text: 'One t' })).status, 200);
    r = await api(server, 'PATCH', `${P}/${a}`, { text: 'One typed', coalesce: true });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.project.history.undo_segment, a);
    assert.equal(r.json.project.history.undo_label, 'edit text');
    r = await api(server, 'POST', `/api/projects/${id}/undo`);
    assert.deepEqual(r.json.changed, [a]);
    let p = (await api(server, 'GET', `/api/projects/${id}`)).json;
    assert.equal(p.segments[0].text, 'One.', 'one undo takes the whole burst back');
    assert.equal(p.history.can_undo, false);
    assert.equal(p.history.redo_segment, a);
    // Not joined: another segment's edit, another field, or an undo in between.
    await api(server, 'PATCH', `${P}/${a}`, { text: 'A' });
    await api(server, 'PATCH', `${P}/${b}`, { text: 'B', coalesce: true });
    await api(server, 'PATCH', `${P}/${b}`, { speaker: 'Cy', coalesce: true });
    await api(server, 'POST', `/api/projects/${id}/undo`);
    await api(server, 'PATCH', `${P}/${b}`, { text: 'B2', coalesce: true });
    for (const want of [['A', 'B'], ['A', 'Two.'], ['One.', 'Two.']]) {
      r = await api(server, 'POST', `/api/projects/${id}/undo`);
      assert.equal(r.status, 200, r.text);
      p = (await api(server, 'GET', `/api/projects/${id}`)).json;
      assert.deepEqual(p.segments.map((g) => g.text), want);
    }
    assert.equal((await api(server, 'PATCH', `${P}/${a}`, { text: 'x', coalesce: 1 })).status, 400);
  });

  test('several segments at once: one edit, one undo', async () => {
    let r = await api(server, 'POST', '/api/projects', { text: 'Uno.\n\nDos.\n\nTres.\n', format: 'txt' });
    const id = r.json.id, ids = r.json.segments.map((g) => g.id);
    r = await api(server, 'POST', `/api/projects/${id}/segments`, { op: 'set', ids: [ids[0], ids[2]], voice: 'am_adam', speed: 1.2, speaker: 'Zed' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.segments.map((g) => [g.voice, g.speed, g.speaker]), [['am_adam', 1.2, 'Zed'], ['am_adam', 1.2, 'Zed']]);
    assert.equal(r.json.project.history.undo_label, 'edit segments');
    r = await api(server, 'POST', `/api/projects/${id}/segments`, { op: 'set', ids: [ids[1]], voice: null });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.project.history.undo_label, 'edit segments', 'nothing changed: no new step');
    await api(server, 'POST', `/api/projects/${id}/undo`);
    const p = (await api(server, 'GET', `/api/projects/${id}`)).json;
    assert.deepEqual(p.segments.map((g) => g.voice), [null, null, null]);
    for (const bad of [{ ids: [], voice: 'am_adam' }, { ids: [ids[0]] }, { ids: [ids[0]], text: 'x' }, { ids: [ids[0], ids[0]], speed: 1 },
      { ids: [ids[0]], voice: 'nobody' }]) {
      r = await api(server, 'POST', `/api/projects/${id}/segments`, { op: 'set', ...bad });
      assert.equal(r.status, 400, JSON.stringify(bad));
    }
    r = await api(server, 'POST', `/api/projects/${id}/segments`, { op: 'set', ids: [ids[0], 999999], speed: 1.5 });
    assert.equal(r.status, 404);
    assert.equal((await api(server, 'GET', `/api/projects/${id}`)).json.segments[0].speed, null, 'all or nothing');
  });
});

describe('render status', () => {
  test('only the segments being synthesised say "rendering"; the rest of the pass waits as "pending"', async () => {
    const text = Array.from({ length: 6 }, (_, i) =>
      `Paragraph ${i + 1} of the status test, ${Date.now() % 100000}, long enough to take a moment to speak aloud here.`).join('\n\n');
    const r = await api(server, 'POST', '/api/projects', { text, format: 'txt' });
    assert.equal(r.status, 201, r.text);
    let seen = null;
    const deadline = Date.now() + 60000;
    while (Date.now() < deadline) {
      const p = (await api(server, 'GET', `/api/projects/${r.json.id}`)).json;
      const n = (st) => p.segments.filter((g) => g.status === st).length;
      if (n('rendering') && n('pending')) { seen = { rendering: n('rendering'), pending: n('pending') }; break; }
      if (n('ready') === p.segments.length) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.ok(seen, 'a moment with segments rendering and others waiting');
    assert.ok(seen.rendering <= 4, `at most the render workers' worth at once, got ${JSON.stringify(seen)}`);
    // Not waited for (a loaded machine takes minutes): deleting it stops its render.
    assert.equal((await api(server, 'DELETE', `/api/projects/${r.json.id}`)).status, 204);
  });
});

describe('input that is not perfect', () => {
  // "Café à la crème" with curly quotes and a euro sign, in Windows-1252.
  const w1252 = Buffer.concat([
    Buffer.from('1\n00:00:01,000 --> 00:00:02,000\n'),
    Buffer.from([0x93, 0x43, 0x61, 0x66, 0xe9, 0x20, 0xe0, 0x20, 0x6c, 0x61, 0x20, 0x63, 0x72, 0xe8, 0x6d, 0x65, 0x94,
      0x2c, 0x20, 0x31, 0x30, 0x20, 0x80, 0x2e]),
    Buffer.from('\n\n2\n00:00:03,000 --> 00:0O:04,000\nGarbled timing kept.\n'),
  ]);
  test('a Windows-1252 file is detected and converted; a garbled cue is kept untimed', async () => {
    const r = await api(server, 'POST', '/api/projects', form([['latin.srt', w1252]]));
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.sources[0].encoding, 'WINDOWS-1252');
    assert.equal(r.json.segments[0].text, '\u201cCafé à la crème\u201d, 10 €.');
    assert.equal(r.json.segments[1].text, 'Garbled timing kept.');
    assert.equal(r.json.segments[1].start_ms, null);
    assert.ok(r.json.warnings.some((w) => /garbled time line/.test(w.message ?? w)), JSON.stringify(r.json.warnings));
  });
  test('the encoding can be chosen (re-import)', async () => {
    let r = await api(server, 'POST', '/api/projects', form([['latin.srt', w1252]], { encoding: 'ISO-8859-7' }));
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.sources[0].encoding, 'ISO-8859-7');
    assert.notEqual(r.json.segments[0].text, '\u201cCafé à la crème\u201d, 10 €.');
    r = await api(server, 'POST', '/api/projects', form([['latin.srt', w1252]], { encoding: 'NO-SUCH' }));
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /NO-SUCH/);
    r = await api(server, 'POST', '/api/projects', form([['latin.srt', w1252]], { encoding: 'a b' }));
    assert.equal(r.status, 400);
  });
});
