// The studio's player: the server renders each segment to its own WAV
// (cached by audio_version); this engine fetches them, decodes them with
// decodeAudioData and schedules an AudioBufferSourceNode for each at its
// rendered start relative to the playhead. Segments that are not rendered
// yet are silent and join in as soon as their audio arrives.
//
// It also keeps the waveform's peaks (min/max pairs at PEAKS_PER_SEC) for
// the whole track, filled in segment by segment.

import { api } from '../api.js';

export const PEAKS_PER_SEC = 100;
const LOOKAHEAD_S = 2.5; // schedule sources this far ahead
const PREFETCH_BEHIND_S = 5;
const PREFETCH_AHEAD_S = 45; // keep decoded buffers for this window
const MAX_BUFFERED_S = 900; // drop decoded audio beyond this much (peaks stay)
const TICK_MS = 40;

function bisectStart(entries, t) {
  // first index whose start >= t
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (entries[mid].start < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

class Emitter {
  constructor() {
    this.handlers = new Map();
  }
  on(ev, fn) {
    if (!this.handlers.has(ev)) this.handlers.set(ev, new Set());
    this.handlers.get(ev).add(fn);
    return () => this.handlers.get(ev).delete(fn);
  }
  emit(ev, ...args) {
    const hs = this.handlers.get(ev);
    if (hs) for (const fn of [...hs]) fn(...args);
  }
}

export class Engine extends Emitter {
  constructor() {
    super();
    this.ctx = null;
    this.decoder = null;
    this.gain = null;
    this.analyser = null; // level(): made on first use
    this.levelBuf = null;
    this.projectId = null;
    this.entries = []; // [{id, start, end, version}] sorted by start (seconds), ready segments only
    this.byId = new Map();
    this.maxLen = 0;
    this.duration = 0;
    this.playing = false;
    this.pausedPos = 0;
    this.startCtx = 0;
    this.startPos = 0;
    this.loop = null; // {start, end} seconds
    this.timer = null;
    // id -> {version, start, buffer, peaks, at, stale}: the audio_version and
    // start (s) the audio was fetched for; buffer, the decoded AudioBuffer
    // (null once dropped far from the playhead, or while stale); peaks
    // (Float32Array|null), kept while stale so the waveform stays drawn; at,
    // when it was fetched (ms); stale, set when the segment changed and its
    // new audio is awaited (version is null then).
    this.cache = new Map();
    this.fetching = new Map(); // id -> version being fetched
    this.failed = new Map(); // id -> {version, until}
    this.sources = new Map(); // id -> {node, version}
    this.peaks = new Float32Array(0);
    this.peaksDirty = false;
    this.peaksTimer = null;
    this.backgroundBusy = 0;
    this.preview = null;
    this.volume = 1;
    this.muted = false;
    this.trackEnd = 0; // the segments' end (setTimeline)
    this.minDuration = 0; // the timeline lasts at least this long (an attached video's length)
  }

  // ---- audio context ----

  ensureCtx() {
    if (this.ctx) return this.ctx;
    const AC = window.AudioContext || window.webkitAudioContext;
    try {
      this.ctx = new AC({ sampleRate: 24000, latencyHint: 'interactive' });
    } catch {
      this.ctx = new AC();
    }
    this.gain = this.ctx.createGain();
    this.gain.connect(this.ctx.destination);
    this.applyVolume();
    return this.ctx;
  }

  /**
   * The output level now (after the volume): {rms, peak} in 0..1, from an
   * AnalyserNode made on first use; zeros before playback made a context.
   */
  level() {
    if (!this.ctx || !this.gain) return { rms: 0, peak: 0 };
    if (!this.analyser) {
      this.analyser = this.ctx.createAnalyser();
      this.analyser.fftSize = 1024;
      this.levelBuf = new Float32Array(this.analyser.fftSize);
      this.gain.connect(this.analyser);
    }
    this.analyser.getFloatTimeDomainData(this.levelBuf);
    let sum = 0;
    let peak = 0;
    for (const v of this.levelBuf) {
      sum += v * v;
      const a = Math.abs(v);
      if (a > peak) peak = a;
    }
    return { rms: Math.sqrt(sum / this.levelBuf.length), peak };
  }

  applyVolume() {
    if (this.gain) this.gain.gain.value = this.muted ? 0 : this.volume;
  }

  /**
   * Decodes a WAV. An OfflineAudioContext does it, so that no live
   * AudioContext is made before the user starts playback (browsers refuse
   * to start one without a gesture); the buffers play in any context.
   */
  async decode(bytes) {
    if (!this.decoder) {
      const OAC = window.OfflineAudioContext || window.webkitOfflineAudioContext;
      this.decoder = OAC ? new OAC(1, 1, 24000) : this.ensureCtx();
    }
    return this.decoder.decodeAudioData(bytes);
  }

  // ---- timeline ----

  /** Clears everything for another project. */
  reset(projectId) {
    this.pause();
    this.stopAll();
    this.projectId = projectId;
    this.entries = [];
    this.byId = new Map();
    this.cache.clear();
    this.fetching.clear();
    this.failed.clear();
    this.pausedPos = 0;
    this.loop = null;
    this.duration = 0;
    this.trackEnd = 0;
    this.minDuration = 0;
    this.peaks = new Float32Array(0);
    this.emit('peaks');
    this.emit('time', 0);
  }

  /**
   * segments: the project's segments (any order); a segment with
   * status ready and rendered times plays. durationMs: the track's length.
   */
  setTimeline(segments, durationMs) {
    const entries = [];
    let maxLen = 0;
    let trackEnd = (durationMs || 0) / 1000;
    for (const s of segments) {
      if (s.status !== 'ready' || !s.rendered || !s.audio_version) continue;
      // An untimed segment's place is known at the end of its render pass.
      if (s.rendered.start_ms == null || s.rendered.end_ms == null) continue;
      const start = s.rendered.start_ms / 1000;
      const end = s.rendered.end_ms / 1000;
      entries.push({ id: s.id, start, end, version: s.audio_version });
      maxLen = Math.max(maxLen, end - start);
      trackEnd = Math.max(trackEnd, end);
    }
    entries.sort((a, b) => a.start - b.start || a.id - b.id);
    const byId = new Map(entries.map((e) => [e.id, e]));
    // Stop sources whose audio changed or went away.
    for (const [id, src] of this.sources) {
      const e = byId.get(id);
      if (!e || e.version !== src.version || e.start !== src.start) this.stopSource(id);
    }
    // Audio that changed is dropped; its peaks stay drawn (where it was)
    // until the new audio arrives, so the waveform does not flicker away
    // while a segment re-renders. Segments that are gone lose both.
    const alive = new Set(segments.map((s) => s.id));
    let peaksChanged = false;
    for (const [id, c] of this.cache) {
      const e = byId.get(id);
      if (e && e.version === c.version && e.start === c.start) continue;
      if (alive.has(id) && !c.stale) {
        c.stale = true;
        c.buffer = null;
        c.version = null;
      } else if (!alive.has(id)) {
        this.cache.delete(id);
        peaksChanged = true;
      }
    }
    this.entries = entries;
    this.byId = byId;
    this.maxLen = maxLen;
    this.trackEnd = trackEnd;
    trackEnd = Math.max(trackEnd, this.minDuration);
    const durationChanged = Math.abs(trackEnd - this.duration) > 1e-6;
    this.duration = trackEnd;
    if (peaksChanged || durationChanged) this.markPeaks();
    if (durationChanged) this.emit('duration', this.duration);
    if (this.playing) this.schedule();
    this.prefetch();
  }

  /** The timeline lasts at least s seconds (a video longer than the last cue). */
  setMinDuration(s) {
    this.minDuration = Math.max(0, Number(s) || 0);
    const d = Math.max(this.trackEnd, this.minDuration);
    if (Math.abs(d - this.duration) <= 1e-6) return;
    this.duration = d;
    this.markPeaks();
    this.emit('duration', d);
  }

  /** Entries overlapping [t0, t1). */
  overlapping(t0, t1) {
    const out = [];
    let i = bisectStart(this.entries, t0 - this.maxLen);
    for (; i < this.entries.length; i++) {
      const e = this.entries[i];
      if (e.start >= t1) break;
      if (e.end > t0) out.push(e);
    }
    return out;
  }

  // ---- transport ----

  get position() {
    if (!this.playing || !this.ctx) return this.pausedPos;
    return Math.max(0, this.startPos + (this.ctx.currentTime - this.startCtx));
  }

  async play() {
    if (this.playing) return;
    const ctx = this.ensureCtx();
    if (ctx.state !== 'running') {
      try {
        await ctx.resume();
      } catch {
        /* autoplay policy: resumes on the next gesture */
      }
    }
    if (this.pausedPos >= this.duration - 0.01 && !this.loop) this.pausedPos = 0;
    this.startPos = this.pausedPos;
    this.startCtx = ctx.currentTime + 0.03;
    this.playing = true;
    this.schedule();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.emit('state', true);
  }

  pause() {
    if (!this.playing) return;
    this.pausedPos = Math.min(this.position, this.duration);
    this.playing = false;
    clearInterval(this.timer);
    this.timer = null;
    this.stopAll();
    this.emit('state', false);
    this.emit('time', this.pausedPos);
  }

  toggle() {
    if (this.playing) this.pause();
    else this.play();
  }

  seek(t) {
    const pos = Math.max(0, Math.min(Number(t) || 0, Math.max(this.duration, 0)));
    if (this.playing) {
      this.stopAll();
      this.startPos = pos;
      this.startCtx = this.ctx.currentTime + 0.02;
      this.schedule();
    } else {
      this.pausedPos = pos;
    }
    this.emit('seek', pos);
    this.emit('time', pos);
    this.prefetch();
  }

  setLoop(range) {
    this.loop = range && range.end > range.start ? { start: range.start, end: range.end } : null;
  }

  tick() {
    const pos = this.position;
    if (this.loop && (pos >= this.loop.end || pos < this.loop.start - 0.25)) {
      this.seek(this.loop.start);
      return;
    }
    if (!this.loop && pos >= this.duration + 0.05) {
      this.pause();
      this.pausedPos = this.duration;
      this.emit('time', this.duration);
      this.emit('ended');
      return;
    }
    this.schedule();
    this.emit('time', pos);
    if ((this.tickCount = (this.tickCount || 0) + 1) % 10 === 0) this.prefetch();
  }

  schedule() {
    if (!this.playing) return;
    const ctx = this.ctx;
    const pos = this.position;
    const until = this.loop ? Math.min(pos + LOOKAHEAD_S, this.loop.end) : pos + LOOKAHEAD_S;
    for (const e of this.overlapping(pos, until)) {
      const have = this.sources.get(e.id);
      if (have && have.version === e.version) continue;
      const c = this.cache.get(e.id);
      if (!c || c.version !== e.version || !c.buffer) {
        this.fetch(e, true);
        continue;
      }
      let when = this.startCtx + (e.start - this.startPos);
      let offset = 0;
      const now = ctx.currentTime + 0.005;
      if (when < now) {
        offset = now - when;
        when = now;
      }
      if (offset >= c.buffer.duration) continue;
      const node = ctx.createBufferSource();
      node.buffer = c.buffer;
      node.connect(this.gain);
      if (this.loop) {
        const stopAt = this.startCtx + (this.loop.end - this.startPos);
        if (stopAt <= when) continue;
        node.start(when, offset);
        node.stop(stopAt);
      } else {
        node.start(when, offset);
      }
      const rec = { node, version: e.version, start: e.start };
      node.onended = () => {
        if (this.sources.get(e.id) === rec) this.sources.delete(e.id);
      };
      this.sources.set(e.id, rec);
    }
  }

  stopSource(id) {
    const s = this.sources.get(id);
    if (!s) return;
    this.sources.delete(id);
    try {
      s.node.onended = null;
      s.node.stop();
      s.node.disconnect();
    } catch {
      /* already stopped */
    }
  }

  stopAll() {
    for (const id of [...this.sources.keys()]) this.stopSource(id);
  }

  // ---- fetching ----

  prefetch() {
    if (!this.projectId) return;
    const pos = this.position;
    for (const e of this.overlapping(pos - PREFETCH_BEHIND_S, pos + PREFETCH_AHEAD_S)) this.fetch(e, true);
    this.background();
  }

  /** Loads one segment's audio (if not loaded at this version). */
  fetch(e, urgent) {
    const c = this.cache.get(e.id);
    if (c && c.version === e.version && (c.buffer || !urgent)) return;
    if (this.fetching.get(e.id) === e.version) return;
    const f = this.failed.get(e.id);
    if (f && f.version === e.version && f.until > Date.now()) return;
    const projectId = this.projectId;
    this.fetching.set(e.id, e.version);
    const url = api.audioUrl(projectId, e.id, e.version);
    const done = () => {
      if (this.fetching.get(e.id) === e.version) this.fetching.delete(e.id);
    };
    return api
      .bytes(url)
      .then((bytes) => this.decode(bytes))
      .then((buffer) => {
        done();
        if (projectId !== this.projectId) return;
        const cur = this.byId.get(e.id);
        if (!cur || cur.version !== e.version) return;
        this.cache.set(e.id, { version: e.version, start: cur.start, buffer, peaks: peaksOf(buffer), at: Date.now() });
        this.failed.delete(e.id);
        this.markPeaks();
        this.evict();
        this.emit('loaded', e.id, e.version);
        if (this.playing) this.schedule();
      })
      .catch((err) => {
        done();
        // 409: not rendered at this version after all; network: retry later.
        this.failed.set(e.id, { version: e.version, until: Date.now() + (err && err.status === 409 ? 3000 : 5000) });
        this.emit('fetch-error', e.id, err);
      });
  }

  /** Fills in the waveform for segments outside the playback window, one at a time. */
  background() {
    if (this.backgroundBusy >= 1 || !this.projectId) return;
    const next = this.entries.find((e) => {
      const c = this.cache.get(e.id);
      if (c && c.version === e.version) return false;
      if (this.fetching.has(e.id)) return false;
      const f = this.failed.get(e.id);
      return !(f && f.version === e.version && f.until > Date.now());
    });
    if (!next) return;
    this.backgroundBusy++;
    Promise.resolve(this.fetch(next, false)).finally(() => {
      this.backgroundBusy--;
      setTimeout(() => this.background(), 10);
    });
  }

  /** Keeps decoded audio near the playhead; the peaks of the rest stay. */
  evict() {
    let total = 0;
    for (const c of this.cache.values()) if (c.buffer) total += c.buffer.duration;
    if (total <= MAX_BUFFERED_S) return;
    const pos = this.position;
    const far = [...this.cache.entries()]
      .filter(([, c]) => c.buffer && (c.start > pos + PREFETCH_AHEAD_S || c.start + c.buffer.duration < pos - PREFETCH_BEHIND_S))
      .sort((a, b) => Math.abs(b[1].start - pos) - Math.abs(a[1].start - pos));
    for (const [id, c] of far) {
      if (total <= MAX_BUFFERED_S * 0.8) break;
      total -= c.buffer.duration;
      c.buffer = null;
      this.stopSource(id);
    }
  }

  /** Whether this segment's audio (at its current version) is here. */
  hasAudio(id) {
    const e = this.byId.get(id);
    const c = this.cache.get(id);
    return !!(e && c && c.version === e.version);
  }

  // ---- peaks ----

  markPeaks() {
    if (this.peaksTimer) return;
    this.peaksTimer = setTimeout(() => {
      this.peaksTimer = null;
      this.buildPeaks();
    }, 120);
  }

  buildPeaks() {
    const bins = Math.max(1, Math.ceil(this.duration * PEAKS_PER_SEC));
    const out = new Float32Array(bins * 2);
    for (const c of this.cache.values()) {
      if (!c.peaks) continue;
      const first = Math.round(c.start * PEAKS_PER_SEC);
      const n = c.peaks.length / 2;
      for (let i = 0; i < n; i++) {
        const b = first + i;
        if (b < 0 || b >= bins) continue;
        const hi = c.peaks[2 * i];
        const lo = c.peaks[2 * i + 1];
        if (hi > out[2 * b]) out[2 * b] = hi;
        if (lo < out[2 * b + 1]) out[2 * b + 1] = lo;
      }
    }
    this.peaks = out;
    this.emit('peaks');
  }

  // ---- voice previews ----

  async playPreview(url, onEnd) {
    this.stopPreview();
    const token = {};
    this.preview = { token, node: null };
    const ctx = this.ensureCtx();
    if (ctx.state !== 'running') await ctx.resume().catch(() => {});
    const bytes = await api.bytes(url);
    const buffer = await this.decode(bytes);
    if (!this.preview || this.preview.token !== token) return;
    const node = ctx.createBufferSource();
    node.buffer = buffer;
    node.connect(this.gain);
    node.onended = () => {
      if (this.preview && this.preview.token === token) this.preview = null;
      onEnd();
    };
    this.preview.node = node;
    node.start();
  }

  stopPreview() {
    if (this.preview && this.preview.node) {
      try {
        this.preview.node.stop();
      } catch {
        /* not started */
      }
    }
    this.preview = null;
  }
}

/** min/max pairs at PEAKS_PER_SEC of the buffer's first channel. */
export function peaksOf(buffer) {
  const data = buffer.getChannelData(0);
  const per = buffer.sampleRate / PEAKS_PER_SEC;
  const n = Math.ceil(data.length / per);
  const out = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    let hi = 0;
    let lo = 0;
    const end = Math.min(data.length, Math.round((i + 1) * per));
    for (let j = Math.round(i * per); j < end; j++) {
      const v = data[j];
      if (v > hi) hi = v;
      else if (v < lo) lo = v;
    }
    out[2 * i] = hi;
    out[2 * i + 1] = lo;
  }
  return out;
}

/**
 * An object with the part of HTMLMediaElement that wavesurfer.js uses, so
 * that its cursor, clicks and drags drive this engine.
 */
export class EngineMedia extends EventTarget {
  constructor(eng) {
    super();
    this.engine = eng;
    this.src = '';
    this.currentSrc = '';
    this.seeking = false;
    this.autoplay = false;
    this.controls = false;
    this.preservesPitch = true;
    this.ended = false;
    const fire = (type) => this.dispatchEvent(new Event(type));
    this.offs = [
      eng.on('state', (playing) => fire(playing ? 'play' : 'pause')),
      eng.on('seek', () => {
        fire('seeking');
        fire('timeupdate');
        fire('seeked');
      }),
      eng.on('duration', () => fire('durationchange')),
      eng.on('ended', () => fire('ended')),
    ];
  }
  get currentTime() {
    return this.engine.position;
  }
  set currentTime(t) {
    this.engine.seek(t);
  }
  get duration() {
    return this.engine.duration;
  }
  get paused() {
    return !this.engine.playing;
  }
  get volume() {
    return this.engine.volume;
  }
  set volume(v) {
    this.engine.volume = v;
    this.engine.applyVolume();
  }
  get muted() {
    return this.engine.muted;
  }
  set muted(m) {
    this.engine.muted = m;
    this.engine.applyVolume();
  }
  get playbackRate() {
    return 1;
  }
  set playbackRate(_) {
    /* always 1: speed is the renderer's */
  }
  play() {
    return this.engine.play();
  }
  pause() {
    this.engine.pause();
  }
  load() {}
  canPlayType() {
    return 'maybe';
  }
  removeAttribute() {}
  remove() {}
  setSinkId() {
    return Promise.resolve();
  }
  destroy() {
    this.offs.forEach((f) => f());
  }
}

export const engine = new Engine();
