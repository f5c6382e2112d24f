import { defineStore } from 'pinia';
import { markRaw } from 'vue';
import { api, ApiError, utf8Length } from '../api.js';
import { engine } from '../audio/engine.js';
import { useToasts } from './toasts.js';
import { useSettings } from './settings.js';
import { toggleEmphasis } from '../emphasis.js';

const SAVE_DELAY_MS = 600;
const RETRY_MS = [1000, 2000, 4000, 8000, 15000, 30000];
const MIN_CUE_MS = 50;
const LAST_KEY = 'kokoro.lastProject';

/** Where a segment sits on the timeline (ms): its cue, else where it was rendered. */
export function startOf(s) {
  if (s.start_ms != null) return s.start_ms;
  return s.rendered && s.rendered.start_ms != null ? s.rendered.start_ms : null;
}
export function endOf(s) {
  if (s.end_ms != null) return s.end_ms;
  return s.rendered && s.rendered.end_ms != null ? s.rendered.end_ms : null;
}
/** The span that plays for a segment: cue and rendered speech together. */
export function spanOf(s) {
  const a = [startOf(s), s.rendered && s.rendered.start_ms].filter((v) => v != null);
  const b = [endOf(s), s.rendered && s.rendered.end_ms].filter((v) => v != null);
  if (!a.length) return null;
  return { start: Math.min(...a), end: Math.max(...(b.length ? b : a)) };
}

function sortSegments(list) {
  // Timeline order: by the server's index, which follows start times.
  list.sort((a, b) => a.index - b.index || a.id - b.id);
  list.forEach((s, i) => {
    s.index = i;
  });
  return list;
}

// A burst of typing is one undo step: a text save of the segment saved
// last, within BURST_MS of it, asks the server to join the two edits
// (it does so only when nothing else was edited or undone in between).
const BURST_MS = 4000;
let lastTextSave = null; // {pid, id, at}

let saveTimers = new Map();
let retryCounts = new Map();
let eventSource = null;
let timelineTimer = null;
let playheadTimer = null;
let refreshTimer = null;
let watchdog = null;
let lastEventAt = 0;
const QUIET_MS = 4000;
let quietMs = QUIET_MS; // doubles after each look that was not needed, up to a minute

// ---------------- live events: connect()'s handlers ----------------
// conn is one stream's state: { id, es, wasLost, hellos, seenVersion }.

/** The JSON payload of a server-sent event, or null. */
function eventData(ev) {
  try {
    return JSON.parse(ev.data);
  } catch {
    return null;
  }
}

/** {done, total, eta_s} of a project's `render` object (eta_s: the server's, null while unknown). */
function progressOf(r) {
  return { done: r.done, total: r.total, eta_s: r.eta_s ?? null };
}

/** hello: the stream is open (again); fetch what may have been missed. */
function onHello(store, conn, d) {
  const lost = conn.wasLost;
  conn.wasLost = false;
  store.connection = 'open';
  if (lost) {
    useToasts().dismissKey('connection');
    useToasts().success('Reconnected to the server.', { key: 'connection' });
    // Save what waited for the server at once.
    for (const [sid, dr] of Object.entries(store.drafts)) if (dr.state === 'unsaved') store.scheduleSave(Number(sid), 0);
  }
  // The server's estimate comes with the hello (null while unknown): the ETA shows from the first moment.
  if (d && d.render) store.progress = progressOf(d.render);
  // A hello after the first means events may have been missed (a
  // reconnect, or a stream that fell behind): fetch the project again.
  // The first one only when something changed since it was fetched.
  conn.hellos++;
  lastEventAt = Date.now();
  const st = store.renderStats;
  const stale =
    d &&
    store.project &&
    ((d.version != null && d.version !== store.project.version) || (d.render && d.render.done !== st.ready + st.errors));
  if (lost || conn.hellos > 1 || stale) store.refresh();
}

/** segment: one segment's render status changed. */
function onSegmentEvent(store, d) {
  if (!d) return;
  const s = store.byId.get(d.id);
  if (!s) return;
  s.status = d.status;
  if ('audio_version' in d) s.audio_version = d.audio_version;
  if ('rendered' in d) s.rendered = d.rendered;
  if (d.status === 'ready') s.error = null;
  if ('error' in d) s.error = d.error;
  // The project's first audio goes to the player at once (typed text plays
  // as soon as its first sentence is made); later ones are batched.
  store.syncTimeline(d.status === 'ready' && store.renderStats.ready === 1);
}

/** progress: how far the render pass is (also shown in the project list). */
function onProgressEvent(store, d) {
  if (d) store.progress = d;
  if (d && store.project) {
    store.project.render = { done: d.done, total: d.total, rendering: d.done < d.total };
    const entry = store.projects.find((x) => x.id === store.project.id);
    if (entry) entry.render = store.project.render;
  }
}

/** export: how far an export of the project is, by `${kind}:${format}` (the export panel shows it). */
function onExportEvent(store, d) {
  if (d && d.kind) store.exports[`${d.kind}:${d.format}`] = d;
}

/** project: the project changed (its history, or someone else's edit). */
function onProjectEvent(store, conn, d) {
  if (!d || !store.project) return;
  if (d.history && d.version >= (store.project.version || 0)) store.project.history = d.history;
  // Someone else (another tab) edited: fetch what changed. Our own
  // edits' events may come before their answers: look again a moment
  // later, once those answers have raised serverVersion.
  conn.seenVersion = Math.max(conn.seenVersion, d.version || 0);
  const check = () => {
    if (!store.project || store.project.id !== conn.id) return;
    if (conn.seenVersion <= (store.serverVersion || 0)) return;
    if (store.busy || store.saving()) {
      refreshTimer = setTimeout(check, 500);
      return;
    }
    store.serverVersion = conn.seenVersion;
    store.refresh();
  };
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(check, 500);
}

/** A named `error` event: a segment could not be rendered. */
function onRenderError(store, d) {
  if (!d) return;
  const s = store.byId.get(d.id);
  if (s) {
    s.status = 'error';
    s.error = d.message;
  }
  const n = s ? `Segment ${s.index + 1}` : 'A segment';
  useToasts().error(`${n} could not be rendered: ${d.message}`, { key: `render-${d.id}` });
}

/**
 * The connection failed: EventSource retries by itself (CONNECTING); when it
 * gives up (CLOSED), see whether the project still exists, then connect again.
 */
function onConnectionError(store, conn) {
  const { es, id } = conn;
  if (es.readyState === EventSource.CLOSED || es.readyState === EventSource.CONNECTING) {
    if (store.connection === 'open' || store.connection === 'connecting') {
      if (!conn.wasLost) {
        useToasts().error('Lost the connection to the server; retrying. Your edits are kept.', { key: 'connection' });
      }
      conn.wasLost = true;
      store.connection = 'lost';
    }
    if (es.readyState === EventSource.CLOSED) {
      // Refused for good: the project may have been deleted elsewhere.
      setTimeout(async () => {
        if (!store.project || store.project.id !== id) return;
        try {
          await api.getProject(id);
        } catch (e) {
          if (e instanceof ApiError && e.status === 404) {
            useToasts().dismissKey('connection');
            useToasts().warning(`The project “${store.project.name}” was deleted.`);
            store.projects = store.projects.filter((p) => p.id !== id);
            store.close();
            return;
          }
        }
        if (store.project && store.project.id === id) store.connect();
      }, 3000);
    }
  }
}

export const useProject = defineStore('project', {
  state: () => ({
    projects: [],
    project: null, // the open project, without segments
    segments: [], // its segments in timeline order
    selectedId: null,
    multi: [], // ids picked with Ctrl/Shift+click, to set voice/speed/speaker at once (BulkBar)
    drafts: {}, // id -> {text, state: dirty|saving|unsaved|error, message}
    caret: {}, // id -> caret offset in the text field (for split)
    selection: {}, // id -> [start, end] of the text field's last selection (for emphasis)
    connection: 'idle', // idle | connecting | open | lost
    progress: null, // {done, total, eta_s}
    exports: {}, // `${kind}:${format}` -> the last export event {id, kind, format, state, done, total}
    loading: false,
    busy: false, // an undo/redo/structural edit in flight
    serverVersion: null,
  }),

  getters: {
    byId(state) {
      const m = new Map();
      for (const s of state.segments) m.set(s.id, s);
      return m;
    },
    selected() {
      return this.selectedId != null ? this.byId.get(this.selectedId) || null : null;
    },
    selectedIndex() {
      const s = this.selected;
      return s ? this.segments.indexOf(s) : -1;
    },
    history: (state) => (state.project && state.project.history) || { can_undo: false, can_redo: false },
    unsavedCount: (state) => Object.values(state.drafts).filter((d) => d.state !== 'saving').length,
    /** "edit text of segment 3 (“Welcome to…”)" for undo or redo: what the step does and to which segment. */
    historyLabel(state) {
      return (which) => {
        const h = (state.project && state.project.history) || {};
        const label = which === 'undo' ? h.undo_label : h.redo_label;
        const sid = which === 'undo' ? h.undo_segment : h.redo_segment;
        if (!label) return null;
        const seg = sid != null ? state.segments.find((x) => x.id === sid) : null;
        if (!seg) return label;
        const t = (seg.text || '').trim();
        return `${label} of segment ${seg.index + 1} (“${t.length > 24 ? t.slice(0, 23) + '…' : t}”)`;
      };
    },
    /** The distinct speakers of the segments, in the order they first speak (the cast panel's rows). */
    speakers(state) {
      const seen = new Set();
      for (const s of state.segments) if (s.speaker && !seen.has(s.speaker)) seen.add(s.speaker);
      return [...seen];
    },
    renderStats(state) {
      let ready = 0;
      let errors = 0;
      for (const s of state.segments) {
        if (s.status === 'ready') ready++;
        else if (s.status === 'error') errors++;
      }
      return { ready, errors, total: state.segments.length };
    },
    /** Starts (ms) in timeline order, for finding the segment at a time. */
    starts(state) {
      return state.segments.map((s) => {
        const sp = spanOf(s);
        return sp ? sp.start : null;
      });
    },
  },

  actions: {
    // ---------------- projects ----------------

    async loadProjects() {
      try {
        const r = await api.listProjects();
        this.projects = r.projects || [];
      } catch (e) {
        useToasts().error(`Could not list the projects: ${e.message}`, { key: 'projects' });
      }
    },

    async restore() {
      const fromHash = /^#\/p\/(\d+)/.exec(location.hash);
      let id = fromHash ? Number(fromHash[1]) : null;
      if (id == null) {
        try {
          id = Number(localStorage.getItem(LAST_KEY)) || null;
        } catch {
          id = null;
        }
      }
      if (id != null && this.projects.some((p) => p.id === id)) await this.open(id);
      else if (fromHash && id != null) await this.open(id);
    },

    async open(id, preloaded = null) {
      if (this.project && this.project.id !== id) await this.flushAll();
      this.loading = true;
      try {
        const p = preloaded || (await api.getProject(id));
        this.setProject(p);
        try {
          localStorage.setItem(LAST_KEY, String(p.id));
        } catch {
          /* ignore */
        }
        if (location.hash !== `#/p/${p.id}`) history.replaceState(null, '', `#/p/${p.id}`);
        this.connect();
        const first = this.segments[0];
        this.selectedId = first ? first.id : null;
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) {
          useToasts().warning(`Project ${id} no longer exists.`);
          try {
            localStorage.removeItem(LAST_KEY);
          } catch {
            /* ignore */
          }
          history.replaceState(null, '', '#/');
        } else {
          useToasts().error(`Could not open the project: ${e.message}`, { key: 'open' });
        }
      } finally {
        this.loading = false;
      }
    },

    setProject(p) {
      const { segments, warnings, ...rest } = p;
      this.project = rest;
      this.serverVersion = rest.version;
      this.segments = sortSegments((segments || []).slice());
      this.drafts = {};
      this.caret = {};
      this.selection = {};
      this.progress = rest.render ? progressOf(rest.render) : null;
      this.exports = {};
      engine.reset(rest.id);
      this.syncTimeline(true);
      engine.seek((rest.playhead_ms || 0) / 1000);
      const i = this.projects.findIndex((x) => x.id === rest.id);
      if (i >= 0) this.projects[i] = rest;
      else this.projects.unshift(rest);
    },

    close() {
      this.disconnect();
      this.project = null;
      this.segments = [];
      this.drafts = {};
      this.selectedId = null;
      engine.reset(null);
      history.replaceState(null, '', '#/');
      try {
        localStorage.removeItem(LAST_KEY);
      } catch {
        /* ignore */
      }
    },

    async deleteProject(id) {
      clearTimeout(playheadTimer);
      // The server ends the project's event stream when it goes: stop
      // listening first, so that the end is not taken for a lost connection.
      const open = this.project && this.project.id === id;
      if (open) this.disconnect();
      try {
        await api.deleteProject(id);
        this.projects = this.projects.filter((p) => p.id !== id);
        if (this.project && this.project.id === id) this.close();
        useToasts().dismissKey('connection');
        useToasts().success('Project deleted.');
      } catch (e) {
        if (open && this.project && this.project.id === id) this.connect();
        useToasts().error(`Could not delete the project: ${e.message}`);
      }
    },

    /** After POST /api/projects: opens it and reports parser warnings. */
    async created(p) {
      if (Array.isArray(p.warnings) && p.warnings.length) {
        const more = p.warnings.length > 3 ? ` (and ${p.warnings.length - 3} more)` : '';
        useToasts().warning(`Some lines were skipped: ${p.warnings.slice(0, 3).join('; ')}${more}`);
      }
      await this.open(p.id, p.segments ? p : null);
    },

    async createFromText({ text, name, format }) {
      const p = await api.createFromText({ name: name || undefined, text, format: format || 'txt' });
      await this.created(p);
      return p;
    },

    async refresh() {
      if (!this.project) return;
      const id = this.project.id;
      try {
        const p = await api.getProject(id);
        if (!this.project || this.project.id !== id) return;
        const { segments, ...rest } = p;
        this.project = rest;
        this.serverVersion = rest.version;
        this.replaceSegments(segments || []);
      } catch (e) {
        if (!(e instanceof ApiError && e.network)) useToasts().error(`Could not reload the project: ${e.message}`);
      }
    },

    async refreshSegments() {
      if (!this.project) return;
      const id = this.project.id;
      const r = await api.segments(id);
      if (!this.project || this.project.id !== id) return;
      this.replaceSegments(r.segments || []);
    },

    replaceSegments(list) {
      this.segments = sortSegments(list.slice());
      const ids = new Set(list.map((s) => s.id));
      for (const id of Object.keys(this.drafts)) {
        const d = this.drafts[id];
        if (!ids.has(Number(id))) delete this.drafts[id];
        else if (d.state !== 'saving' && d.state !== 'dirty' && d.state !== 'unsaved' && d.state !== 'error') delete this.drafts[id];
      }
      if (this.selectedId != null && !ids.has(this.selectedId)) this.selectedId = this.segments[0] ? this.segments[0].id : null;
      this.syncTimeline();
    },

    /** Merges answers (segments that changed) into the list. */
    upsert(segs = [], deleted = []) {
      let reorder = false;
      for (const s of segs) {
        const cur = this.byId.get(s.id);
        if (cur) {
          if (cur.index !== s.index || cur.start_ms !== s.start_ms) reorder = true;
          Object.assign(cur, s);
        } else {
          this.segments.push(s);
          reorder = true;
        }
      }
      if (deleted.length) {
        const gone = new Set(deleted);
        this.segments = this.segments.filter((s) => !gone.has(s.id));
        for (const id of deleted) delete this.drafts[id];
        if (gone.has(this.selectedId)) this.selectedId = null;
        reorder = true;
      }
      if (reorder) {
        // Timeline order after a local change: by start, then previous index.
        this.segments.sort((a, b) => {
          const sa = startOf(a);
          const sb = startOf(b);
          if (sa != null && sb != null && sa !== sb) return sa - sb;
          return a.index - b.index || a.id - b.id;
        });
        this.segments.forEach((s, i) => {
          s.index = i;
        });
      }
      this.syncTimeline();
    },

    applyProjectState(p) {
      if (!p || !this.project) return;
      if (p.version != null) {
        this.project.version = p.version;
        this.serverVersion = Math.max(this.serverVersion || 0, p.version);
      }
      if (p.history) this.project.history = p.history;
    },

    /** Tells the player where the rendered segments are (batched). */
    syncTimeline(now = false) {
      const run = () => {
        timelineTimer = null;
        if (!this.project) return;
        let dur = this.project.duration_ms || 0;
        for (const s of this.segments) {
          const e = endOf(s);
          if (e != null && e > dur) dur = e;
          if (s.rendered && s.rendered.end_ms > dur) dur = s.rendered.end_ms;
        }
        engine.setTimeline(this.segments, dur);
      };
      if (now) {
        clearTimeout(timelineTimer);
        run();
      } else if (!timelineTimer) {
        timelineTimer = setTimeout(run, 30);
      }
    },

    // ---------------- live events ----------------

    /**
     * Opens the project's event stream. Each kind of event has its handler
     * above the store ("live events: connect()'s handlers").
     */
    connect() {
      this.disconnect();
      if (!this.project) return;
      const id = this.project.id;
      const es = new EventSource(api.eventsUrl(id));
      eventSource = markRaw(es);
      this.connection = 'connecting';
      lastEventAt = Date.now();
      quietMs = QUIET_MS;
      this.startWatchdog();
      const conn = { id, es, wasLost: false, hellos: 0, seenVersion: 0 };
      es.addEventListener('hello', (ev) => onHello(this, conn, eventData(ev)));
      es.addEventListener('segment', (ev) => {
        lastEventAt = Date.now();
        quietMs = QUIET_MS;
        onSegmentEvent(this, eventData(ev));
      });
      es.addEventListener('progress', (ev) => {
        lastEventAt = Date.now();
        onProgressEvent(this, eventData(ev));
      });
      es.addEventListener('project', (ev) => onProjectEvent(this, conn, eventData(ev)));
      es.addEventListener('export', (ev) => onExportEvent(this, eventData(ev)));
      es.addEventListener('error', (ev) => {
        // A named `error` event carries data; a connection error does not.
        if (ev && typeof ev.data === 'string') onRenderError(this, eventData(ev));
        else onConnectionError(this, conn);
      });
    },

    disconnect() {
      if (eventSource) eventSource.close();
      eventSource = null;
      clearInterval(watchdog);
      watchdog = null;
      this.connection = 'idle';
    },

    /**
     * A safety net for missed events: while segments wait to be rendered
     * and the stream has said nothing for a while, look at the project
     * again (a render pass that began before the stream opened sends no
     * events).
     */
    startWatchdog() {
      clearInterval(watchdog);
      watchdog = setInterval(() => {
        if (!this.project || this.connection !== 'open' || this.busy || this.saving()) return;
        if (Date.now() - lastEventAt < quietMs) return;
        const waiting = this.segments.some((x) => x.status === 'pending' || x.status === 'rendering');
        if (!waiting) return;
        lastEventAt = Date.now();
        quietMs = Math.min(quietMs * 2, 60000);
        this.refresh();
      }, 1000);
    },

    // ---------------- text edits (debounced, retried) ----------------

    /** Whether a text save is on its way to the server. */
    saving() {
      return Object.values(this.drafts).some((d) => d.state === 'saving');
    },

    textOf(s) {
      const d = this.drafts[s.id];
      return d ? d.text : s.text;
    },

    setText(id, text) {
      const seg = this.byId.get(id);
      if (!seg) return;
      const d = this.drafts[id];
      if (!d && text === seg.text) return;
      if (d) {
        d.text = text;
        if (d.state === 'saving') d.again = true;
        else {
          d.state = 'dirty';
          d.message = null;
        }
      } else {
        this.drafts[id] = { text, state: 'dirty', message: null, again: false, promise: null };
      }
      this.scheduleSave(id, SAVE_DELAY_MS);
    },

    scheduleSave(id, ms) {
      clearTimeout(saveTimers.get(id));
      saveTimers.set(
        id,
        setTimeout(() => this.save(id), ms),
      );
    },

    async save(id) {
      clearTimeout(saveTimers.get(id));
      saveTimers.delete(id);
      const d = this.drafts[id];
      if (!d || !this.project) return;
      if (d.state === 'saving') {
        d.again = true;
        return d.promise;
      }
      const seg = this.byId.get(id);
      if (!seg) {
        delete this.drafts[id];
        return;
      }
      if (d.text === seg.text) {
        delete this.drafts[id];
        return;
      }
      if (utf8Length(d.text) > 10000) {
        d.state = 'error';
        d.message = 'Longer than 10,000 bytes: shorten it or split the segment.';
        return;
      }
      const sent = d.text;
      const pid = this.project.id;
      d.state = 'saving';
      d.again = false;
      const promise = (async () => {
        try {
          const burst = !!lastTextSave && lastTextSave.pid === pid && lastTextSave.id === id && Date.now() - lastTextSave.at < BURST_MS;
          const r = await api.patchSegment(pid, id, burst ? { text: sent, coalesce: true } : { text: sent });
          lastTextSave = { pid, id, at: Date.now() };
          if (!this.project || this.project.id !== pid) return;
          retryCounts.delete(id);
          this.upsert([r.segment]);
          this.applyProjectState(r.project);
          const cur = this.drafts[id];
          if (cur && cur.text === sent) delete this.drafts[id];
          else if (cur) {
            cur.state = 'dirty';
            this.scheduleSave(id, 50);
          }
          useToasts().dismissKey('save');
        } catch (e) {
          const cur = this.drafts[id];
          if (!cur) return;
          if (e instanceof ApiError && (e.network || e.status >= 500 || e.status === 409)) {
            // Keep the text and try again, a little later each time.
            const n = retryCounts.get(id) || 0;
            retryCounts.set(id, n + 1);
            cur.state = 'unsaved';
            cur.message = e.message;
            if (n === 0) useToasts().error(`Not saved yet: ${e.message} Retrying…`, { key: 'save' });
            this.scheduleSave(id, RETRY_MS[Math.min(n, RETRY_MS.length - 1)]);
          } else {
            cur.state = 'error';
            cur.message = e.message;
            useToasts().error(`Could not save segment ${seg.index + 1}: ${e.message}`, { key: 'save' });
          }
        } finally {
          const cur = this.drafts[id];
          if (cur) cur.promise = null;
          if (cur && cur.again && cur.state === 'dirty') this.scheduleSave(id, 50);
        }
      })();
      d.promise = promise;
      return promise;
    },

    /**
     * Emphasis on or off for text[start, end) of segment id (emphasis.js
     * toggleEmphasis: "*word*" wrapped or unwrapped), through the typing's
     * path (the field shows it at once, saved now, retried like typing), as
     * an undo step of its own: typing just before is saved first and neither
     * it nor typing after joins this edit. The selection over the same words
     * in the new text and the save's promise ({start, end, saved}), as soon
     * as the field has the new text; null when nothing was done (a toast
     * says why).
     */
    async emphasise(id, start, end) {
      if (!this.byId.get(id)) return null;
      await this.flush(id);
      const seg = this.byId.get(id);
      if (!seg) return null;
      const r = toggleEmphasis(this.textOf(seg), start, end);
      if (r.error) {
        useToasts().info(r.error);
        return null;
      }
      lastTextSave = null;
      this.setText(id, r.text);
      const saved = this.save(id).then(() => {
        lastTextSave = null;
      });
      return { start: r.start, end: r.end, saved };
    },

    async flush(id) {
      if (this.drafts[id]) await this.save(id);
      const d = this.drafts[id];
      if (d && d.promise) await d.promise;
    },

    /** Saves every pending text now; true when nothing is left unsaved. */
    async flushAll() {
      const ids = Object.keys(this.drafts).map(Number);
      await Promise.all(ids.map((id) => this.flush(id)));
      return Object.keys(this.drafts).length === 0;
    },

    // ---------------- other edits ----------------

    async patchSegment(id, patch) {
      if (!this.project) return false;
      const pid = this.project.id;
      try {
        const r = await api.patchSegment(pid, id, patch);
        if (!this.project || this.project.id !== pid) return false;
        this.upsert([r.segment]);
        this.applyProjectState(r.project);
        if (patch.voice) useSettings().noteRecent(patch.voice);
        return true;
      } catch (e) {
        useToasts().error(`Could not change the segment: ${e.message}`);
        return false;
      }
    },

    async setTimes(id, startMs, endMs) {
      const s = this.byId.get(id);
      if (!s) return false;
      const start = Math.max(0, Math.round(startMs));
      const end = Math.max(start + MIN_CUE_MS, Math.round(endMs));
      if (start === s.start_ms && end === s.end_ms) return true;
      const before = { start_ms: s.start_ms, end_ms: s.end_ms };
      s.start_ms = start; // at once, so that repeated nudges add up
      s.end_ms = end;
      const ok = await this.patchSegment(id, { start_ms: start, end_ms: end });
      if (!ok && this.byId.get(id)) Object.assign(this.byId.get(id), before);
      return ok;
    },

    nudge(id, which, deltaMs) {
      const s = this.byId.get(id);
      if (!s || s.start_ms == null || s.end_ms == null) {
        useToasts().info('This segment has no cue times to nudge (plain text gets its place from the render).');
        return;
      }
      let start = s.start_ms;
      let end = s.end_ms;
      if (which === 'start') start = Math.min(Math.max(0, start + deltaMs), end - MIN_CUE_MS);
      else if (which === 'end') end = Math.max(end + deltaMs, start + MIN_CUE_MS);
      else {
        const d = Math.max(deltaMs, -start);
        start += d;
        end += d;
      }
      return this.setTimes(id, start, end);
    },

    /**
     * Sets the start or the end of a cue to a time (the playhead): the
     * start keeps the cue's length when it would pass the end; the end
     * must stay after the start. False (and a note) when it cannot.
     */
    setEdgeAt(id, which, ms) {
      const s = this.byId.get(id);
      if (!s || s.start_ms == null || s.end_ms == null) {
        useToasts().info('This segment has no cue times to set (plain text gets its place from the render).');
        return false;
      }
      const t = Math.max(0, Math.round(ms));
      if (which === 'start') {
        if (t <= s.end_ms - MIN_CUE_MS) return this.setTimes(id, t, s.end_ms);
        return this.setTimes(id, t, t + (s.end_ms - s.start_ms));
      }
      if (t < s.start_ms + MIN_CUE_MS) {
        useToasts().info('The playhead is before the start of this cue: move it past the start to set the end there.');
        return false;
      }
      return this.setTimes(id, s.start_ms, t);
    },

    /** The gap (ms) between a cue and the one before it (or the track's start); null when either is untimed. */
    gapBefore(i) {
      const s = this.segments[i];
      if (!s || s.start_ms == null) return null;
      if (i === 0) return s.start_ms;
      const prev = this.segments[i - 1];
      return prev.end_ms == null ? null : s.start_ms - prev.end_ms;
    },

    /** Inserts a cue filling the gap before segment id (a little margin each side). */
    async insertInGap(id) {
      const i = this.segments.findIndex((x) => x.id === id);
      const gap = this.gapBefore(i);
      if (gap == null || gap < 3 * MIN_CUE_MS) {
        useToasts().info('There is no room before this cue: the gap is shorter than 150 ms.');
        return;
      }
      const s = this.segments[i];
      const from = i === 0 ? 0 : this.segments[i - 1].end_ms;
      const pad = Math.min(100, Math.floor((gap - MIN_CUE_MS) / 2));
      const op = { op: 'insert', start_ms: from + pad, end_ms: s.start_ms - pad, text: 'New line.' };
      const r = await this.structural(op, 'insert a segment in the gap');
      if (r && r.segments && r.segments[0]) this.selectedId = r.segments[0].id;
    },

    async structural(op, label) {
      if (!this.project) return null;
      const pid = this.project.id;
      this.busy = true;
      try {
        const r = await api.segmentOp(pid, op);
        if (!this.project || this.project.id !== pid) return null;
        this.applyProjectState(r.project);
        this.upsert(r.segments || [], r.deleted || []);
        return r;
      } catch (e) {
        useToasts().error(`Could not ${label}: ${e.message}`);
        return null;
      } finally {
        this.busy = false;
      }
    },

    /** Splits at a character offset of the text (the caret's). */
    async split(id, offset) {
      await this.flush(id);
      const s = this.byId.get(id);
      if (!s) return;
      const text = s.text;
      const at = Math.max(0, Math.min(offset ?? Math.floor(text.length / 2), text.length));
      if (at <= 0 || at >= text.length || !text.slice(0, at).trim() || !text.slice(at).trim()) {
        useToasts().info('Put the text cursor where the segment should be split (not at either end).');
        return;
      }
      const op = { op: 'split', id, text_offset: at };
      if (s.start_ms != null && s.end_ms != null) op.at_ms = splitTime(s, at);
      const r = await this.structural(op, 'split the segment');
      if (r) {
        const second = (r.segments || []).find((x) => x.id !== id);
        if (second) this.selectedId = second.id;
      }
    },

    async mergeWithNext(id) {
      const i = this.segments.findIndex((s) => s.id === id);
      const next = this.segments[i + 1];
      if (i < 0 || !next) {
        useToasts().info('There is no next segment to merge with.');
        return;
      }
      await Promise.all([this.flush(id), this.flush(next.id)]);
      const r = await this.structural({ op: 'merge', ids: [id, next.id] }, 'merge the segments');
      if (r) this.selectedId = id;
    },

    async mergeWithPrevious(id) {
      const i = this.segments.findIndex((s) => s.id === id);
      if (i <= 0) {
        useToasts().info('There is no previous segment to merge with.');
        return;
      }
      const prev = this.segments[i - 1];
      await this.mergeWithNext(prev.id);
      this.selectedId = prev.id;
    },

    async deleteSegment(id) {
      const i = this.segments.findIndex((s) => s.id === id);
      await this.flush(id);
      const r = await this.structural({ op: 'delete', id }, 'delete the segment');
      if (r) {
        const next = this.segments[Math.min(i, this.segments.length - 1)];
        this.selectedId = next ? next.id : null;
      }
    },

    async insertAfter(id) {
      const s = id != null ? this.byId.get(id) : this.segments[this.segments.length - 1];
      const i = s ? this.segments.indexOf(s) : -1;
      const next = this.segments[i + 1];
      const from = s ? (endOf(s) ?? 0) + 200 : 0;
      let to = from + 2000;
      if (next && startOf(next) != null && startOf(next) > from + MIN_CUE_MS) to = Math.min(to, startOf(next) - 100);
      if (to - from < MIN_CUE_MS) to = from + 1000;
      const untimed = s ? s.start_ms == null : this.segments.length > 0 && this.segments.every((x) => x.start_ms == null);
      const op = untimed ? { op: 'insert', text: 'New line.' } : { op: 'insert', start_ms: from, end_ms: to, text: 'New line.' };
      const r = await this.structural(op, 'insert a segment');
      if (r && r.segments && r.segments[0]) this.selectedId = r.segments[0].id;
    },

    /** Ctrl+click: adds or removes a row (the selected one joins first); Shift+click: the rows from the selected one. */
    pick(id, { range = false } = {}) {
      if (range && this.selectedId != null) {
        const a = this.segments.findIndex((x) => x.id === this.selectedId);
        const b = this.segments.findIndex((x) => x.id === id);
        const [lo, hi] = a < b ? [a, b] : [b, a];
        this.multi = this.segments.slice(lo, hi + 1).map((x) => x.id);
        return;
      }
      const set = new Set(this.multi.length ? this.multi : this.selectedId != null ? [this.selectedId] : []);
      if (set.has(id)) set.delete(id);
      else set.add(id);
      this.multi = this.segments.filter((x) => set.has(x.id)).map((x) => x.id);
    },

    /** Sets speaker/voice/speed/pitch of every id at once: one edit on the server (one undo). */
    async setMany(ids, patch) {
      if (!this.project || !ids.length) return false;
      const pid = this.project.id;
      try {
        const r = await api.segmentOp(pid, { op: 'set', ids, ...patch });
        if (!this.project || this.project.id !== pid) return false;
        this.upsert(r.segments || [], r.deleted || []);
        this.applyProjectState(r.project);
        if (patch.voice) useSettings().noteRecent(patch.voice);
        return true;
      } catch (e) {
        useToasts().error(`Could not change the ${ids.length} segments: ${e.message}`);
        return false;
      }
    },

    async setProjectSettings(partial) {
      if (!this.project) return false;
      const pid = this.project.id;
      try {
        const p = await api.patchProject(pid, { settings: partial });
        if (!this.project || this.project.id !== pid) return false;
        const { segments, ...rest } = p;
        this.project = rest;
        this.serverVersion = Math.max(this.serverVersion || 0, rest.version || 0);
        if (segments) this.replaceSegments(segments);
        if (partial.voice) useSettings().noteRecent(partial.voice);
        return true;
      } catch (e) {
        useToasts().error(`Could not change the project's settings: ${e.message}`);
        return false;
      }
    },

    async rename(name) {
      if (!this.project || !name.trim() || name === this.project.name) return;
      const pid = this.project.id;
      try {
        const p = await api.patchProject(pid, { name: name.trim() });
        const { segments, ...rest } = p;
        this.project = rest;
        this.serverVersion = Math.max(this.serverVersion || 0, rest.version || 0);
        const i = this.projects.findIndex((x) => x.id === pid);
        if (i >= 0) this.projects[i] = rest;
      } catch (e) {
        useToasts().error(`Could not rename the project: ${e.message}`);
      }
    },

    // ---------------- history ----------------

    async undo() {
      return this.travel('undo');
    },
    async redo() {
      return this.travel('redo');
    },

    async travel(which) {
      if (!this.project || this.busy) return;
      // Pending typing is an edit too: save it first so that it is the one undone.
      await this.flushAll();
      if (which === 'undo' && !this.history.can_undo) return;
      if (which === 'redo' && !this.history.can_redo) return;
      const pid = this.project.id;
      const target = which === 'undo' ? this.history.undo_segment : this.history.redo_segment;
      this.busy = true;
      lastTextSave = null; // the next typing is a new step
      try {
        const r = await api[which](pid);
        if (!this.project || this.project.id !== pid) return;
        this.applyProjectState(r.project);
        await this.refreshSegments();
        // The segment the step changed is selected (and so scrolled to).
        const changed = [target, ...((r && r.changed) || [])].find((x) => x != null && this.byId.get(x));
        if (changed != null) this.selectedId = changed;
      } catch (e) {
        if (e instanceof ApiError && e.status === 409) useToasts().info(`Nothing to ${which}.`);
        else useToasts().error(`Could not ${which}: ${e.message}`);
      } finally {
        this.busy = false;
      }
    },

    // ---------------- playhead ----------------

    reportPlayhead(ms) {
      if (!this.project) return;
      const pid = this.project.id;
      clearTimeout(playheadTimer);
      playheadTimer = setTimeout(() => {
        // not for a project closed or deleted in the meantime (a 404 for nothing)
        if (this.project && this.project.id === pid) api.playhead(pid, ms).catch(() => {});
      }, 400);
    },

    /** The index of the segment playing at ms (-1: none). */
    indexAt(ms) {
      const starts = this.starts;
      let lo = 0;
      let hi = starts.length - 1;
      let best = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const st = starts[mid];
        if (st == null) {
          // untimed and not placed yet: it comes after the placed ones
          // (typed text plays while its later sentences are still made)
          hi = mid - 1;
          continue;
        }
        if (st <= ms) {
          best = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      if (best < 0) return -1;
      // Look back a few in case cues overlap.
      for (let i = best; i >= Math.max(0, best - 3); i--) {
        const sp = spanOf(this.segments[i]);
        if (sp && sp.start <= ms && ms < sp.end) return i;
      }
      return -1;
    },
  },
});

/** The time (ms) of a split at a text offset: from word times when known. */
export function splitTime(s, offset) {
  const text = s.text;
  const words = (s.rendered && s.rendered.words) || [];
  if (words.length) {
    // Count the words before the offset.
    const before = text.slice(0, offset).trim().split(/\s+/).filter(Boolean).length;
    const w = words[Math.min(before, words.length - 1)];
    if (w && before > 0 && before < words.length) {
      const prev = words[before - 1];
      if (prev.end_ms != null && w.start_ms != null) return insideCue(s, Math.round((prev.end_ms + w.start_ms) / 2));
    }
  }
  const a = startOf(s) ?? 0;
  const b = endOf(s) ?? a + 1000;
  return insideCue(s, Math.round(a + ((b - a) * offset) / Math.max(1, text.length)));
}

/** splitTime kept strictly inside the cue, as the server wants it. */
function insideCue(s, ms) {
  if (s.start_ms == null || s.end_ms == null) return ms;
  return Math.min(Math.max(ms, s.start_ms + 1), s.end_ms - 1);
}
