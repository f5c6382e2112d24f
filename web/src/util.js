/** 83500 → "1:23.500" (or "1:02:03.500" past an hour); null → "—". */
export function fmtTime(ms, { millis = true } = {}) {
  if (ms == null || !Number.isFinite(ms)) return '—';
  const neg = ms < 0;
  let t = Math.abs(Math.round(ms));
  const h = Math.floor(t / 3600000);
  t -= h * 3600000;
  const m = Math.floor(t / 60000);
  t -= m * 60000;
  const s = Math.floor(t / 1000);
  const r = t - s * 1000;
  const ss = String(s).padStart(2, '0');
  const frac = millis ? '.' + String(r).padStart(3, '0') : '';
  const body = h ? `${h}:${String(m).padStart(2, '0')}:${ss}${frac}` : `${m}:${ss}${frac}`;
  return (neg ? '−' : '') + body;
}

/**
 * A typed time to milliseconds: "2.25" or "2.25 s" (seconds), "0:02.250" or
 * "1:02:03.5" (as fmtTime writes it); NaN for anything else.
 */
export function parseTime(text) {
  const t = String(text ?? '').trim().replace(/\s*s$/i, '').replace('−', '-');
  if (!/^-?\d+(\.\d*)?$|^-?\.\d+$|^\d+(:[0-5]?\d){1,2}(\.\d*)?$/.test(t)) return NaN;
  const parts = t.split(':');
  let s = 0;
  for (const p of parts) s = s * 60 + parseFloat(p);
  return Math.round(s * 1000);
}

/** Spoken form for screen readers: "1 minute 23.5 seconds". */
export function spokenTime(ms) {
  if (ms == null) return 'no time';
  const s = ms / 1000;
  const m = Math.floor(s / 60);
  const rest = Math.round((s - m * 60) * 10) / 10;
  return m ? `${m} minute${m === 1 ? '' : 's'} ${rest} seconds` : `${rest} seconds`;
}

export function fmtBytes(n) {
  if (n == null) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** True when the event comes from a place where typing goes (text fields). */
export function isTyping(el) {
  if (!el) return false;
  if (el.isContentEditable) return true;
  const tag = el.tagName;
  if (tag === 'TEXTAREA') return true;
  if (tag === 'SELECT') return true;
  if (tag === 'INPUT') {
    const t = (el.getAttribute('type') || 'text').toLowerCase();
    return !['button', 'checkbox', 'radio', 'range', 'submit', 'reset', 'file', 'color'].includes(t);
  }
  return false;
}

export function clamp(v, lo, hi) {
  return Math.max(lo, Math.min(hi, v));
}

// Hands a downloaded blob to the browser as a file named filename.
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
