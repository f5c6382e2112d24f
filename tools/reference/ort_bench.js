#!/usr/bin/env node
// Benchmark the ONNX Runtime reference on a fixed ~29 s paragraph.
//
//   node tools/reference/ort_bench.js [--threads 2] [--runs 3] [--voice af_heart] [--wav out.wav]
//
// The paragraph is hand-written misaki-style US English IPA (below), turned
// into 500 token ids with the model's config.json vocab (all ids < 178); pads
// are added around them, the style is row 499 of the voice pack, speed 1.
// Prints one JSON object: session load time, the first and the best inference
// time over --runs runs, audio seconds, real-time factor (inference / audio),
// peak RSS of the process (process.resourceUsage().maxRSS, KiB) and the load
// average (the machine may be shared: compare numbers taken under equal load).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const PARAGRAPH_IPA = "ðə ˈOld lˈItˌhWs stˈʊd æt ði ˈɛʤ ʌv ðə klˈɪf, wˈɑʧɪŋ ˈOvəɹ ðə ɹˈɛstləs sˈi. ˈɛvəɹi nˈIt, ɪts kˈipəɹ klˈImd ðə nˈæɹO stˈɛɹz tə lˈIt ðə lˈæmp, ænd ˈɛvəɹi mˈɔɹnɪŋ hi ɹˈOt ə fjˈu lˈInz ɪn hɪz ʤˈɜɹnəl əbˈWt ðə wˈɛðəɹ, ðə ʃˈɪps, ænd ðə bˈɜɹdz ðæt ɹˈɛstᵻd ɑn ðə ɹˈɑks bəlˈO. nˈObˌɑdi ɪn ðə vˈɪlɪʤ ɹəmˈɛmbəɹd wˌɛn hi hæd fˈɜɹst əɹˈIvd, bʌt ˈɛvɹiˌwʌn əɡɹˈid ðæt ðə kˈOst fˈɛlt sˈAfəɹ wɪð hˈɪm ðˈɛɹ. ɪn ðə wˈɪntəɹ, wˌɛn ðə stˈɔɹmz ɹˈOld ɪn fɹʌm ðə nˈɔɹθ, hi wʊd stˈA ˈʌp ˈOl nˈIt, ænd ðə lˈIt nˈɛvəɹ wˈɛnt ˈWt.";

// config.json vocab ids of PARAGRAPH_IPA, without pads (checked at run time
// when config.json is available).
const IDS = [
  81, 83, 16, 156, 31, 54, 46, 16, 54, 156, 25, 62, 157, 50, 39, 61, 16, 61, 62, 156, 135, 46, 16, 72, 62,
  16, 81, 51, 16, 156, 86, 82, 16, 138, 64, 16, 81, 83, 16, 53, 54, 156, 102, 48, 3, 16, 65, 156, 69, 133,
  102, 112, 16, 156, 31, 64, 83, 123, 16, 81, 83, 16, 123, 156, 86, 61, 62, 54, 83, 61, 16, 61, 156, 51, 4,
  16, 156, 86, 64, 83, 123, 51, 16, 56, 156, 25, 62, 3, 16, 102, 62, 61, 16, 53, 156, 51, 58, 83, 123, 16,
  53, 54, 156, 25, 55, 46, 16, 81, 83, 16, 56, 156, 72, 123, 31, 16, 61, 62, 156, 86, 123, 68, 16, 62, 83,
  16, 54, 156, 25, 62, 16, 81, 83, 16, 54, 156, 72, 55, 58, 3, 16, 72, 56, 46, 16, 156, 86, 64, 83, 123,
  51, 16, 55, 156, 76, 123, 56, 102, 112, 16, 50, 51, 16, 123, 156, 31, 62, 16, 83, 16, 48, 52, 156, 63, 16,
  54, 156, 25, 56, 68, 16, 102, 56, 16, 50, 102, 68, 16, 82, 156, 87, 123, 56, 83, 54, 16, 83, 44, 156, 39,
  62, 16, 81, 83, 16, 65, 156, 86, 81, 83, 123, 3, 16, 81, 83, 16, 131, 156, 102, 58, 61, 3, 16, 72, 56,
  46, 16, 81, 83, 16, 44, 156, 87, 123, 46, 68, 16, 81, 72, 62, 16, 123, 156, 86, 61, 62, 177, 46, 16, 69,
  56, 16, 81, 83, 16, 123, 156, 69, 53, 61, 16, 44, 83, 54, 156, 31, 4, 16, 56, 156, 31, 44, 157, 69, 46,
  51, 16, 102, 56, 16, 81, 83, 16, 64, 156, 102, 54, 102, 82, 16, 123, 83, 55, 156, 86, 55, 44, 83, 123, 46,
  16, 65, 157, 86, 56, 16, 50, 51, 16, 50, 72, 46, 16, 48, 156, 87, 123, 61, 62, 16, 83, 123, 156, 25, 64,
  46, 3, 16, 44, 138, 62, 16, 156, 86, 64, 123, 51, 157, 65, 138, 56, 16, 83, 92, 123, 156, 51, 46, 16, 81,
  72, 62, 16, 81, 83, 16, 53, 156, 31, 61, 62, 16, 48, 156, 86, 54, 62, 16, 61, 156, 24, 48, 83, 123, 16,
  65, 102, 81, 16, 50, 156, 102, 55, 16, 81, 156, 86, 123, 4, 16, 102, 56, 16, 81, 83, 16, 65, 156, 102, 56,
  62, 83, 123, 3, 16, 65, 157, 86, 56, 16, 81, 83, 16, 61, 62, 156, 76, 123, 55, 68, 16, 123, 156, 31, 54,
  46, 16, 102, 56, 16, 48, 123, 138, 55, 16, 81, 83, 16, 56, 156, 76, 123, 119, 3, 16, 50, 51, 16, 65, 135,
  46, 16, 61, 62, 156, 24, 16, 156, 138, 58, 16, 156, 31, 54, 16, 56, 156, 25, 62, 3, 16, 72, 56, 46, 16,
  81, 83, 16, 54, 156, 25, 62, 16, 56, 156, 86, 64, 83, 123, 16, 65, 156, 86, 56, 62, 16, 156, 39, 62, 4,
];

function arg(name, def) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

async function main() {
  const threads = parseInt(arg('--threads', '2'), 10);
  const runs = Math.max(1, parseInt(arg('--runs', '3'), 10));
  const voice = arg('--voice', 'af_heart');
  const wavOut = arg('--wav', null);
  const { modelDir, loadVocab, phonemesToIds } = require('./vocab.js');
  const dir = modelDir();
  try {
    const check = phonemesToIds(PARAGRAPH_IPA, loadVocab(dir));
    if (check.join(',') !== IDS.join(',')) throw new Error('hardcoded ids differ from config.json vocab');
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
  }
  let ort;
  try { ort = require('./node_modules/onnxruntime-node'); } catch (e) {
    console.error('onnxruntime-node missing: run tools/reference/setup.sh'); process.exit(2);
  }
  const modelPath = arg('--model', path.join(dir, 'model_q4_w16.onnx'));
  const pack = fs.readFileSync(path.join(dir, 'voices', voice + '.bin'));
  /* --n-ids N: only the first N ids (a short sentence's worth), style row N-1 */
  const nIds = parseInt(arg('--n-ids', String(IDS.length)), 10);
  if (!(nIds >= 1 && nIds <= IDS.length)) throw new Error('--n-ids takes 1 to ' + IDS.length);
  const RUN_IDS = IDS.slice(0, nIds);
  const T = RUN_IDS.length;
  const style = new Float32Array(256);
  for (let i = 0; i < 256; i++) style[i] = pack.readFloatLE(((T - 1) * 256 + i) * 4);

  const rss0 = process.resourceUsage().maxRSS;
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const t1 = process.hrtime.bigint();
  const inputIds = [0, ...RUN_IDS, 0];
  const feeds = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(inputIds.map(BigInt)), [1, inputIds.length]),
    style: new ort.Tensor('float32', style, [1, 256]),
    speed: new ort.Tensor('float32', Float32Array.from([1]), [1]),
  };
  const times = [];
  let samples = 0;
  let wave = null;
  for (let r = 0; r < runs; r++) {
    const a = process.hrtime.bigint();
    const out = await session.run(feeds);
    const b = process.hrtime.bigint();
    times.push(Number(b - a) / 1e6);
    samples = out.waveform.data.length;
    wave = out.waveform.data;
  }
  if (wavOut) {
    const buf = Buffer.alloc(44 + samples * 2);
    buf.write('RIFF', 0); buf.writeUInt32LE(36 + samples * 2, 4); buf.write('WAVEfmt ', 8);
    buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(1, 22); buf.writeUInt32LE(24000, 24);
    buf.writeUInt32LE(48000, 28); buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34); buf.write('data', 36);
    buf.writeUInt32LE(samples * 2, 40);
    for (let i = 0; i < samples; i++) buf.writeInt16LE(Math.round(Math.max(-1, Math.min(1, wave[i])) * 32767), 44 + 2 * i);
    fs.writeFileSync(wavOut, buf);
  }
  const audio = samples / 24000;
  const best = Math.min(...times);
  console.log(JSON.stringify({
    engine: 'onnxruntime-node ' + require('./node_modules/onnxruntime-node/package.json').version,
    model: path.basename(modelPath),
    tokens: T,
    intra_op_threads: threads,
    runs,
    load_ms: Number(t1 - t0) / 1e6,
    first_inference_ms: times[0],
    best_inference_ms: best,
    mean_inference_ms: times.reduce((x, y) => x + y, 0) / times.length,
    audio_s: audio,
    rtf_best: best / 1000 / audio,
    rtf_first: times[0] / 1000 / audio,
    peak_rss_mib: process.resourceUsage().maxRSS / 1024,
    rss_before_load_mib: rss0 / 1024,
    cpus: os.cpus().length,
    loadavg_1m: os.loadavg()[0],
  }));
}

main().catch((e) => { console.error(e); process.exit(1); });
