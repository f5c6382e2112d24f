// The client side of docs/api.md: JSON requests, multipart uploads with
// progress (XMLHttpRequest), downloads with progress (fetch + ReadableStream)
// and the project's event stream.

export class ApiError extends Error {
  constructor(status, code, message, body = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status; // 0 when the server could not be reached
    this.code = code;
    this.body = body;
  }
  get network() {
    return this.status === 0;
  }
}

// A token is needed when the server listens on another address than
// loopback: it is passed once as ?token=... and kept for the tab.
let token = null;
try {
  const q = new URLSearchParams(location.search).get('token');
  if (q) sessionStorage.setItem('kokoro.token', q);
  token = sessionStorage.getItem('kokoro.token');
} catch {
  token = null;
}

function authHeaders(h = {}) {
  if (token) h.Authorization = `Bearer ${token}`;
  return h;
}

/** A URL for elements that cannot send headers (EventSource). */
export function withToken(url) {
  if (!token) return url;
  return url + (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token);
}

const UNREACHABLE = 'Cannot reach the Kokoro server. Is `kokoro serve` still running?';

async function errorFrom(res) {
  let body = null;
  let code = 'http_' + res.status;
  let message = `${res.status} ${res.statusText || 'error'}`;
  try {
    body = await res.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    }
  } catch {
    /* not JSON */
  }
  return new ApiError(res.status, code, message, body);
}

export async function request(method, path, body, { signal, raw = false } = {}) {
  const init = { method, headers: authHeaders({ Accept: 'application/json' }), signal };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json; charset=utf-8';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', UNREACHABLE);
  }
  if (!res.ok) throw await errorFrom(res);
  if (raw) return res;
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

const P = (id) => `/api/projects/${encodeURIComponent(id)}`;

/** A query string of the values that are set (null/undefined/'' left out). */
function query(o) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  return q.toString();
}

export const api = {
  health: () => request('GET', '/api/health'),
  activity: () => request('GET', '/api/activity'),
  voices: () => request('GET', '/api/voices'),
  voicePreviewUrl: (id) => `/api/voices/${encodeURIComponent(id)}/preview`,
  settings: () => request('GET', '/api/settings'),
  putSettings: (s) => request('PUT', '/api/settings', s),

  listProjects: () => request('GET', '/api/projects'),
  createFromText: (obj) => request('POST', '/api/projects', obj),
  getProject: (id) => request('GET', P(id)),
  patchProject: (id, patch) => request('PATCH', P(id), patch),
  deleteProject: (id) => request('DELETE', P(id)),
  segments: (id) => request('GET', `${P(id)}/segments`),
  patchSegment: (id, sid, patch) => request('PATCH', `${P(id)}/segments/${sid}`, patch),
  segmentOp: (id, op) => request('POST', `${P(id)}/segments`, op),
  undo: (id) => request('POST', `${P(id)}/undo`),
  redo: (id) => request('POST', `${P(id)}/redo`),
  playhead: (id, ms) => request('PUT', `${P(id)}/playhead`, { ms: Math.max(0, Math.round(ms)) }),
  eventsUrl: (id) => withToken(`${P(id)}/events`),
  audioUrl: (id, sid, v) => `${P(id)}/segments/${sid}/audio?v=${encodeURIComponent(v)}`,
  trackUrl: (id, format, opts = {}) => `${P(id)}/track?${query({ format, ...opts })}`,
  subtitlesUrl: (id, format, opts = {}) => `${P(id)}/subtitles?${query({ format, ...opts })}`,
  stemsUrl: (id, opts = {}) => `${P(id)}/stems?${query(opts)}`,
  sourceUrl: (id, index) => `${P(id)}/sources/${index}`,

  /** An ArrayBuffer of a GET (audio). */
  async bytes(url, { signal } = {}) {
    const res = await request('GET', url, undefined, { signal, raw: true });
    return res.arrayBuffer();
  },

  /**
   * Uploads files as one project (multipart, one `file` part each).
   * onProgress(loadedBytes, totalBytes) follows the upload; the promise
   * gives the Project. abort() on the returned handle cancels.
   */
  upload(files, { name, settings, encoding } = {}, onProgress = () => {}) {
    const xhr = new XMLHttpRequest();
    const promise = new Promise((resolve, reject) => {
      const form = new FormData();
      if (name) form.append('name', name);
      if (settings) form.append('settings', JSON.stringify(settings));
      if (encoding && encoding !== 'auto') form.append('encoding', encoding);
      for (const f of files) form.append('file', f, f.name);
      xhr.open('POST', '/api/projects');
      xhr.setRequestHeader('Accept', 'application/json');
      if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) onProgress(e.loaded, e.total);
      };
      xhr.onload = () => {
        let body = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          body = null;
        }
        if (xhr.status >= 200 && xhr.status < 300 && body) {
          resolve(body);
        } else {
          const e = body && body.error;
          reject(new ApiError(xhr.status, e ? e.code : 'http_' + xhr.status, e ? e.message : `upload failed (${xhr.status})`, body));
        }
      };
      xhr.onerror = () => reject(new ApiError(0, 'network', UNREACHABLE));
      xhr.onabort = () => reject(new ApiError(0, 'aborted', 'Upload cancelled'));
      xhr.send(form);
    });
    return { promise, abort: () => xhr.abort() };
  },

  /**
   * Downloads url with progress: onProgress(received, total|null). Gives
   * {blob, filename}. The body is read chunk by chunk from the stream.
   */
  async download(url, onProgress = () => {}, { signal } = {}) {
    const res = await request('GET', url, undefined, { signal, raw: true });
    const total = Number(res.headers.get('Content-Length')) || null;
    const type = res.headers.get('Content-Type') || 'application/octet-stream';
    const filename = filenameFrom(res.headers.get('Content-Disposition'));
    const chunks = [];
    let received = 0;
    if (res.body && res.body.getReader) {
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        received += value.byteLength;
        onProgress(received, total);
      }
    } else {
      const b = new Uint8Array(await res.arrayBuffer());
      chunks.push(b);
      received = b.byteLength;
      onProgress(received, total);
    }
    return { blob: new Blob(chunks, { type }), filename, bytes: received };
  },
};

/** The file name of a Content-Disposition header (filename* first). */
export function filenameFrom(cd) {
  if (!cd) return null;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(cd);
  if (star) {
    try {
      return decodeURIComponent(star[1].trim());
    } catch {
      /* fall through */
    }
  }
  const plain = /filename\s*=\s*"((?:[^"\\]|\\.)*)"/.exec(cd) || /filename\s*=\s*([^;]+)/.exec(cd);
  return plain ? plain[1].replace(/\\(.)/g, '$1').trim() : null;
}

/** Byte length of a string in UTF-8 (the server counts text limits in bytes). */
export function utf8Length(s) {
  return new TextEncoder().encode(s).length;
}
