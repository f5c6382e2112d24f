// The audio monitor of a dub: what the studio plays while a video is
// attached. The dub is the engine's output (engine.js); the original is the
// <video> element's own audio, taken into the same AudioContext with a
// MediaElementAudioSourceNode. Three modes:
//
//   dub       the dub only (the original silent)
//   original  the original only (the dub silent)
//   duck      the dub over the original, which is turned down under the
//             speech: duck_db, reached (95 %) in attack ms and left in
//             release ms, the speech counting hold ms past its end, and the
//             gain moving attack ms *before* the speech starts: the same
//             rule as the export's kk_duck_mix (src/audio/dsp.c), with the
//             rendered segments' speech times standing for the dub's level
//             (the monitor knows them ahead; a level detector would be late).
//
// The video follows the engine's transport (play, pause, seek) and is put
// back in step when it drifts more than DRIFT_S. Levels of both paths are
// measured (AnalyserNode) for the panel's meters and the browser test.

import { engine } from './engine.js';

const DRIFT_S = 0.2;

export const DUCK_DEFAULTS = { db: -15, attackMs: 50, releaseMs: 300, holdMs: 200 };

export class Monitor {
  constructor(eng) {
    this.engine = eng;
    this.video = null;
    this.mode = 'duck';
    this.duck = { ...DUCK_DEFAULTS };
    this.spans = []; // [{start, end}] seconds, sorted by start: the rendered speech
    this.sources = new WeakMap(); // element -> MediaElementAudioSourceNode (one per element, ever)
    this.dubGain = null;
    this.origGain = null;
    this.dubMeter = null;
    this.origMeter = null;
    this.target = 1; // the original's gain being moved to
    this.offs = [];
    this.buf = null;
  }

  /** The graph: engine.gain -> dubGain -> out; video -> origGain -> out. */
  graph() {
    const ctx = this.engine.ensureCtx();
    if (!this.dubGain) {
      this.dubGain = ctx.createGain();
      this.origGain = ctx.createGain();
      this.dubMeter = ctx.createAnalyser();
      this.origMeter = ctx.createAnalyser();
      this.dubMeter.fftSize = this.origMeter.fftSize = 1024;
      this.engine.gain.disconnect();
      this.engine.gain.connect(this.dubGain);
      this.dubGain.connect(ctx.destination);
      this.dubGain.connect(this.dubMeter);
      this.origGain.connect(ctx.destination);
      this.origGain.connect(this.origMeter);
    }
    if (this.video && !this.sources.has(this.video)) {
      const src = ctx.createMediaElementSource(this.video);
      src.connect(this.origGain);
      this.sources.set(this.video, src);
    }
    return ctx;
  }

  /** Follows the engine with this <video> (null: none). */
  attach(video) {
    this.detach();
    this.video = video;
    if (!video) return;
    this.graph();
    const e = this.engine;
    this.offs = [
      e.on('state', (playing) => (playing ? this.playVideo() : this.video && this.video.pause())),
      e.on('seek', (t) => this.seekVideo(t)),
      e.on('time', (t) => this.tick(t)),
    ];
    this.seekVideo(e.position);
    if (e.playing) this.playVideo();
    this.apply(true);
  }

  detach() {
    this.offs.forEach((f) => f());
    this.offs = [];
    if (this.video) this.video.pause();
    this.video = null;
    // Without a video the dub plays as before.
    if (this.dubGain) this.dubGain.gain.value = 1;
  }

  playVideo() {
    const v = this.video;
    if (!v) return;
    this.seekVideo(this.engine.position);
    const p = v.play();
    if (p && p.catch) p.catch(() => {}); /* past its end, or not loaded yet: the next tick tries again */
  }

  seekVideo(t) {
    const v = this.video;
    if (!v || !Number.isFinite(t)) return;
    if (v.readyState >= 1 && Math.abs(v.currentTime - t) > 0.04) v.currentTime = Math.min(t, v.duration || t);
    this.apply(true);
  }

  tick(t) {
    const v = this.video;
    if (!v) return;
    if (this.engine.playing && v.readyState >= 1 && t < (v.duration || Infinity)) {
      if (Math.abs(v.currentTime - t) > DRIFT_S) v.currentTime = t;
      if (v.paused) this.playVideo();
    }
    this.apply();
  }

  setMode(mode) {
    this.mode = mode;
    this.apply(true);
  }

  setDuck(d) {
    this.duck = { ...this.duck, ...d };
    this.apply(true);
  }

  /** segments: the project's; the ready ones' rendered speech times count. */
  setSegments(segments) {
    const out = [];
    for (const s of segments) {
      const r = s.rendered;
      if (s.status === 'ready' && r && r.start_ms != null && r.end_ms != null) out.push({ start: r.start_ms / 1000, end: r.end_ms / 1000 });
    }
    out.sort((a, b) => a.start - b.start);
    this.spans = out;
    this.apply();
  }

  /** Whether the original is down at t: speech within [t - hold, t + attack]. */
  speechAt(t) {
    const ahead = this.duck.attackMs / 1000;
    const hold = this.duck.holdMs / 1000;
    for (const s of this.spans) {
      if (s.start - ahead > t) break;
      if (s.end + hold >= t) return true;
    }
    return false;
  }

  /** The original's gain now wanted (0..1). */
  wanted(t = this.engine.position) {
    if (this.mode === 'dub') return 0;
    if (this.mode === 'original') return 1;
    return this.speechAt(t) ? 10 ** (this.duck.db / 20) : 1;
  }

  apply(force = false) {
    if (!this.dubGain) return;
    const ctx = this.engine.ctx;
    const now = ctx.currentTime;
    this.dubGain.gain.value = this.video && this.mode === 'original' ? 0 : 1;
    const want = this.video ? this.wanted() : 0;
    if (!force && Math.abs(want - this.target) < 1e-6) return;
    const g = this.origGain.gain;
    const ms = want < this.target ? this.duck.attackMs : this.duck.releaseMs;
    g.cancelScheduledValues(now);
    g.setValueAtTime(g.value, now);
    if (this.mode !== 'duck' || ms <= 0) g.setValueAtTime(want, now);
    else g.setTargetAtTime(want, now, ms / 3000);
    this.target = want;
  }

  /** RMS levels (linear) of the dub and the original as heard now. */
  levels() {
    if (!this.dubMeter) return { dub: 0, original: 0 };
    const rms = (a) => {
      if (!this.buf || this.buf.length !== a.fftSize) this.buf = new Float32Array(a.fftSize);
      a.getFloatTimeDomainData(this.buf);
      let s = 0;
      for (const x of this.buf) s += x * x;
      return Math.sqrt(s / this.buf.length);
    };
    return { dub: rms(this.dubMeter), original: rms(this.origMeter) };
  }

  /** The original's gain as it is now (for the panel and the tests). */
  get originalGain() {
    return this.origGain ? this.origGain.gain.value : 1;
  }
}

export const monitor = new Monitor(engine);
