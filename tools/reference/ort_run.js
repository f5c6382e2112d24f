#!/usr/bin/env node
// Run the Kokoro-82M ONNX graph with ONNX Runtime (onnxruntime-node, CPU) as
// the reference for the C engine.  See tools/reference/README.md.
//
//   node tools/reference/ort_run.js --ids 50,156,43,102 --voice af_heart \
//        [--speed 1] [--threads 2] [--wav out.wav] [--f32 out.f32] \
//        [--model path.onnx] [--dump-dir DIR]
//
// Token ids (be explicit about pads):
//   --ids LIST         phoneme ids WITHOUT pads; the pad id 0 is added at both
//                      ends, so input_ids = [0, ids..., 0] and T = count(ids).
//   --input-ids LIST   the full input_ids exactly as given (include the pads
//                      yourself); T = length - 2.
//   --ids-file F       like --ids, read from a file (JSON array or numbers
//                      separated by commas/whitespace); --input-ids-file alike.
// Style (one of):
//   --voice NAME|PATH  a voice pack [510,256] float32 LE (NAME = a file in
//                      $KOKORO_MODEL_DIR/voices/NAME.bin); row T-1 is used
//                      (T = phoneme ids without pads), or --voice-row R.
//   --style-f32 PATH   a raw float32 LE file of exactly 256 values.
// Outputs:
//   --wav PATH         16-bit PCM mono 24 kHz WAV (clipped to [-1,1], x*32767 rounded)
//   --f32 PATH         the waveform as raw float32 LE
//   --dump-dir DIR     every graph output (waveform and any extra outputs added
//                      by expose.py) as DIR/<sanitised name>.<f32|i64|u8> plus
//                      DIR/index.json: {tensors:[{name,dtype,shape,file,min,max,mean,nan}]}
// Session:
//   --threads N        intra-op threads (default 2); --inter-threads N (default 1)
//   --opt LEVEL        disabled|basic|extended|all (default all)
// Prints one JSON object with timings (ms) and sizes on stdout.
'use strict';

const fs = require('fs');
const path = require('path');

const HERE = __dirname;
const REPO = path.resolve(HERE, '..', '..');
const SAMPLE_RATE = 24000;

function modelDir() {
  return process.env.KOKORO_MODEL_DIR ||
    path.resolve(REPO, '..', 'shared', 'models', 'kokoro-82m-v1.0');
}

function loadOrt() {
  try {
    return require(path.join(HERE, 'node_modules', 'onnxruntime-node'));
  } catch (e) {
    die('onnxruntime-node is not installed: run tools/reference/setup.sh (' + e.message + ')');
  }
}

function die(msg) {
  process.stderr.write('ort_run: ' + msg + '\n');
  process.exit(2);
}

function parseArgs(argv) {
  const a = { threads: 2, interThreads: 1, speed: 1.0, opt: 'all' };
  const need = (i) => { if (i + 1 >= argv.length) die('missing value for ' + argv[i]); return argv[i + 1]; };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    switch (k) {
      case '--ids': a.ids = parseList(need(i)); i++; break;
      case '--input-ids': a.inputIds = parseList(need(i)); i++; break;
      case '--ids-file': a.ids = parseList(fs.readFileSync(need(i), 'utf8')); i++; break;
      case '--input-ids-file': a.inputIds = parseList(fs.readFileSync(need(i), 'utf8')); i++; break;
      case '--voice': a.voice = need(i); i++; break;
      case '--voice-row': a.voiceRow = parseInt(need(i), 10); i++; break;
      case '--style-f32': a.styleF32 = need(i); i++; break;
      case '--speed': a.speed = parseFloat(need(i)); i++; break;
      case '--threads': a.threads = parseInt(need(i), 10); i++; break;
      case '--inter-threads': a.interThreads = parseInt(need(i), 10); i++; break;
      case '--opt': a.opt = need(i); i++; break;
      case '--model': a.model = need(i); i++; break;
      case '--wav': a.wav = need(i); i++; break;
      case '--f32': a.f32 = need(i); i++; break;
      case '--dump-dir': a.dumpDir = need(i); i++; break;
      case '-h': case '--help':
        process.stdout.write(fs.readFileSync(__filename, 'utf8').split('\n')
          .filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n') + '\n');
        process.exit(0);
        break;
      default: die('unknown argument ' + k + ' (see --help)');
    }
  }
  return a;
}

function parseList(s) {
  const t = s.trim();
  const arr = t.startsWith('[') ? JSON.parse(t) : t.split(/[\s,]+/).filter((x) => x.length);
  return arr.map((x) => {
    const v = Number(x);
    if (!Number.isInteger(v)) die('not an integer token id: ' + x);
    return v;
  });
}

function readF32(file) {
  const buf = fs.readFileSync(file);
  if (buf.length % 4) die(file + ': size is not a multiple of 4');
  const out = new Float32Array(buf.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

function selectStyle(a, T) {
  if (a.styleF32 && a.voice) die('give either --voice or --style-f32, not both');
  if (a.styleF32) {
    const s = readF32(a.styleF32);
    if (s.length !== 256) die(a.styleF32 + ': expected 256 float32 values, got ' + s.length);
    return { style: s, source: a.styleF32, row: null };
  }
  if (!a.voice) die('a style is required: --voice NAME|PATH or --style-f32 PATH');
  let file = a.voice;
  if (!fs.existsSync(file)) file = path.join(modelDir(), 'voices', a.voice.replace(/\.bin$/, '') + '.bin');
  if (!fs.existsSync(file)) die('voice not found: ' + a.voice);
  const pack = readF32(file);
  if (pack.length % 256) die(file + ': not a [N,256] float32 pack');
  const rows = pack.length / 256;
  const row = a.voiceRow !== undefined ? a.voiceRow : T - 1;
  if (row < 0 || row >= rows) die('voice row ' + row + ' out of range 0..' + (rows - 1));
  return { style: pack.slice(row * 256, row * 256 + 256), source: file, row };
}

function writeWav(file, samples) {
  const n = samples.length;
  const buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0); buf.writeUInt32LE(36 + n * 2, 4); buf.write('WAVE', 8);
  buf.write('fmt ', 12); buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(SAMPLE_RATE, 24); buf.writeUInt32LE(SAMPLE_RATE * 2, 28);
  buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34);
  buf.write('data', 36); buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) {
    let v = samples[i];
    if (!(v === v)) v = 0; // NaN
    v = Math.max(-1, Math.min(1, v));
    buf.writeInt16LE(Math.round(v * 32767), 44 + i * 2);
  }
  fs.writeFileSync(file, buf);
}

function sanitize(name) {
  let s = name.replace(/_output_0$/, '').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+/, '');
  return s || 'tensor';
}

function tensorBytes(t) {
  const d = t.data;
  if (t.type === 'bool') return { buf: Buffer.from(Uint8Array.from(d, (x) => (x ? 1 : 0)).buffer), ext: 'u8', dtype: 'bool' };
  if (t.type === 'float32') return { buf: Buffer.from(d.buffer, d.byteOffset, d.byteLength), ext: 'f32', dtype: 'float32' };
  if (t.type === 'int64') return { buf: Buffer.from(d.buffer, d.byteOffset, d.byteLength), ext: 'i64', dtype: 'int64' };
  if (t.type === 'int32') return { buf: Buffer.from(d.buffer, d.byteOffset, d.byteLength), ext: 'i32', dtype: 'int32' };
  return { buf: Buffer.from(d.buffer, d.byteOffset, d.byteLength), ext: 'bin', dtype: t.type };
}

function stats(t) {
  if (t.type !== 'float32' && t.type !== 'int64' && t.type !== 'int32') return {};
  let mn = Infinity, mx = -Infinity, sum = 0, nan = 0, n = 0;
  for (const x0 of t.data) {
    const x = Number(x0);
    if (x !== x) { nan++; continue; }
    if (x < mn) mn = x;
    if (x > mx) mx = x;
    sum += x; n++;
  }
  return { min: n ? mn : null, max: n ? mx : null, mean: n ? sum / n : null, nan };
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  if (a.ids && a.inputIds) die('give either --ids (no pads) or --input-ids (pads included), not both');
  if (!a.ids && !a.inputIds) die('token ids are required: --ids LIST (pads added) or --input-ids LIST (as given)');
  if (a.ids && a.ids.length && (a.ids[0] === 0 || a.ids[a.ids.length - 1] === 0)) {
    process.stderr.write('ort_run: warning: --ids starts or ends with the pad id 0; --ids adds pads itself ' +
      '(use --input-ids to pass a sequence that already has them)\n');
  }
  const inputIds = a.inputIds ? a.inputIds.slice() : [0, ...a.ids, 0];
  const T = inputIds.length - 2;
  if (T < 1) die('need at least one phoneme id besides the pads');
  if (inputIds.length > 512) die('input_ids has ' + inputIds.length + ' entries; the model takes at most 512 (510 + 2 pads)');
  for (const v of inputIds) if (v < 0 || v >= 178) die('token id out of range [0,178): ' + v);
  const st = selectStyle(a, T);
  if (!(a.speed > 0)) die('--speed must be > 0');

  const modelPath = a.model || path.join(modelDir(), 'model_q4_w16.onnx');
  if (!fs.existsSync(modelPath)) die('model not found: ' + modelPath + ' (set KOKORO_MODEL_DIR)');
  const ort = loadOrt();

  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: a.threads,
    interOpNumThreads: a.interThreads,
    executionMode: 'sequential',
    graphOptimizationLevel: a.opt,
  });
  const t1 = process.hrtime.bigint();
  const feeds = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(inputIds.map((x) => BigInt(x))), [1, inputIds.length]),
    style: new ort.Tensor('float32', Float32Array.from(st.style), [1, 256]),
    speed: new ort.Tensor('float32', Float32Array.from([a.speed]), [1]),
  };
  const results = await session.run(feeds);
  const t2 = process.hrtime.bigint();

  const wav = results.waveform;
  const samples = wav.data;
  if (a.f32) fs.writeFileSync(a.f32, Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength));
  if (a.wav) writeWav(a.wav, samples);

  let rms = 0, peak = 0;
  for (const v of samples) { rms += v * v; peak = Math.max(peak, Math.abs(v)); }
  rms = Math.sqrt(rms / Math.max(1, samples.length));

  const report = {
    model: modelPath,
    input_ids_len: inputIds.length,
    phonemes: T,
    style_source: st.source,
    style_row: st.row,
    speed: a.speed,
    intra_op_threads: a.threads,
    load_ms: Number(t1 - t0) / 1e6,
    inference_ms: Number(t2 - t1) / 1e6,
    samples: samples.length,
    audio_s: samples.length / SAMPLE_RATE,
    rtf: (Number(t2 - t1) / 1e9) / (samples.length / SAMPLE_RATE),
    waveform_rms: rms,
    waveform_peak: peak,
    outputs: session.outputNames.length,
  };

  if (a.dumpDir) {
    fs.mkdirSync(a.dumpDir, { recursive: true });
    const used = new Set();
    const index = { model: modelPath, input_ids: inputIds, style_source: st.source, style_row: st.row, speed: a.speed, tensors: [] };
    for (const name of session.outputNames) {
      const t = results[name];
      const { buf, ext, dtype } = tensorBytes(t);
      let base = sanitize(name);
      if (used.has(base)) { let k = 2; while (used.has(base + '~' + k)) k++; base = base + '~' + k; }
      used.add(base);
      const file = base + '.' + ext;
      fs.writeFileSync(path.join(a.dumpDir, file), buf);
      index.tensors.push({ name, dtype, shape: t.dims.map(Number), file, ...stats(t) });
    }
    fs.writeFileSync(path.join(a.dumpDir, 'index.json'), JSON.stringify(index, null, 1));
    report.dump_dir = a.dumpDir;
  }
  process.stdout.write(JSON.stringify(report) + '\n');
}

main().catch((e) => { process.stderr.write('ort_run: ' + (e && e.stack || e) + '\n'); process.exit(1); });
