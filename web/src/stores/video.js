// A project's video (docs/api.md, "Video"): what is attached, its upload
// (streamed by the browser: the File is the request body, with progress),
// its removal, the original audio's peaks for the second waveform lane,
// and the audio monitor's settings (audio/monitor.js), kept per browser.
import { defineStore } from 'pinia';
import { ApiError, request, withToken } from '../api.js';
import { engine } from '../audio/engine.js';
import { monitor, DUCK_DEFAULTS } from '../audio/monitor.js';

const P = (id) => `/api/projects/${encodeURIComponent(id)}`;
const KEY = 'kokoro.monitor';

function loadMonitor() {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) || 'null');
    if (v && typeof v === 'object') return v;
  } catch {
    /* private mode, or not JSON */
  }
  return {};
}

export const useVideo = defineStore('video', {
  state: () => {
    const m = loadMonitor();
    return {
      projectId: null,
      info: null, // {name, type, size, duration_ms, width, height, has_audio, url} or null
      uploading: null, // {loaded, total, abort} while an upload runs
      error: '',
      peaks: null, // {per_second, peaks: [..]} of the original
      mode: ['dub', 'original', 'duck'].includes(m.mode) ? m.mode : 'duck',
      duckDb: Number.isFinite(m.duckDb) ? m.duckDb : DUCK_DEFAULTS.db,
      attackMs: Number.isFinite(m.attackMs) ? m.attackMs : DUCK_DEFAULTS.attackMs,
      releaseMs: Number.isFinite(m.releaseMs) ? m.releaseMs : DUCK_DEFAULTS.releaseMs,
    };
  },
  getters: {
    /** The file's URL for the <video> element (which cannot send a token header). */
    src(state) {
      return state.info ? withToken(`${P(state.projectId)}/video`) : '';
    },
  },
  actions: {
    saveMonitor() {
      try {
        localStorage.setItem(KEY, JSON.stringify({ mode: this.mode, duckDb: this.duckDb, attackMs: this.attackMs, releaseMs: this.releaseMs }));
      } catch {
        /* not kept: fine */
      }
      monitor.setMode(this.mode);
      monitor.setDuck({ db: this.duckDb, attackMs: this.attackMs, releaseMs: this.releaseMs });
    },
    /** What project id has attached (null: none); its peaks follow. */
    async load(projectId) {
      this.projectId = projectId;
      this.info = null;
      this.peaks = null;
      this.error = '';
      engine.setMinDuration(0);
      if (projectId == null) return;
      try {
        const info = await request('GET', `${P(projectId)}/video/info`);
        if (this.projectId !== projectId || !info || !info.attached) return;
        this.info = info;
        engine.setMinDuration(info.duration_ms / 1000);
        this.loadPeaks();
      } catch (e) {
        if (this.projectId === projectId && !(e instanceof ApiError && e.status === 404)) this.error = e.message;
      }
    },
    async loadPeaks() {
      const id = this.projectId;
      if (!this.info || !this.info.has_audio) return;
      try {
        const p = await request('GET', `${P(id)}/video/peaks`);
        if (this.projectId === id) this.peaks = p;
      } catch (e) {
        if (this.projectId === id) this.error = `The original's waveform: ${e.message}`;
      }
    },
    /** Attaches file (a File) to the open project, replacing any video. */
    upload(file) {
      const id = this.projectId;
      if (id == null || !file) return Promise.resolve(null);
      const xhr = new XMLHttpRequest();
      this.error = '';
      const promise = new Promise((resolve, reject) => {
        xhr.open('PUT', withToken(`${P(id)}/video?name=${encodeURIComponent(file.name)}`));
        xhr.setRequestHeader('Accept', 'application/json');
        xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
        xhr.upload.onprogress = (e) => {
          if (this.uploading && e.lengthComputable) Object.assign(this.uploading, { loaded: e.loaded, total: e.total });
        };
        xhr.onload = () => {
          let body = null;
          try {
            body = JSON.parse(xhr.responseText);
          } catch {
            body = null;
          }
          if (xhr.status === 201 && body) resolve(body);
          else {
            const er = body && body.error;
            reject(new ApiError(xhr.status, er ? er.code : `http_${xhr.status}`, er ? er.message : `upload failed (${xhr.status})`, body));
          }
        };
        xhr.onerror = () => reject(new ApiError(0, 'network', 'Cannot reach the Kokoro server.'));
        xhr.onabort = () => reject(new ApiError(0, 'aborted', 'Upload cancelled'));
        xhr.send(file); // the File itself: the browser streams it from disk
      });
      this.uploading = { loaded: 0, total: file.size, abort: () => xhr.abort() };
      return promise
        .then((info) => {
          if (this.projectId !== id) return null;
          this.info = info;
          this.peaks = null;
          engine.setMinDuration(info.duration_ms / 1000);
          this.loadPeaks();
          return info;
        })
        .catch((e) => {
          this.error = e.message;
          throw e;
        })
        .finally(() => {
          this.uploading = null;
        });
    },
    async remove() {
      const id = this.projectId;
      if (id == null || !this.info) return;
      await request('DELETE', `${P(id)}/video`);
      if (this.projectId !== id) return;
      this.info = null;
      this.peaks = null;
      engine.setMinDuration(0);
    },
    exportUrl(mix, container = 'mp4') {
      const q = new URLSearchParams({ mix, container });
      if (mix === 'duck') {
        q.set('duck_db', String(this.duckDb));
        q.set('attack_ms', String(this.attackMs));
        q.set('release_ms', String(this.releaseMs));
      }
      return `${P(this.projectId)}/video/export?${q}`;
    },
  },
});
