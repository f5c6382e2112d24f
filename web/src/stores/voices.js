import { defineStore } from 'pinia';
import { api } from '../api.js';
import { useToasts } from './toasts.js';
import { engine } from '../audio/engine.js';

const LANGUAGES = {
  'en-us': 'English (US)',
  'en-gb': 'English (UK)',
  es: 'Spanish',
  'fr-fr': 'French',
  fr: 'French',
  hi: 'Hindi',
  it: 'Italian',
  'pt-br': 'Portuguese (Brazil)',
  ja: 'Japanese',
  'cmn': 'Chinese (Mandarin)',
  zh: 'Chinese (Mandarin)',
};

export function languageName(code) {
  return LANGUAGES[code] || code || 'Other';
}

/** "af_heart" → "Heart"; used for labels next to the id. */
export function voiceName(id) {
  const n = String(id).split('_').slice(1).join(' ');
  return n ? n.charAt(0).toUpperCase() + n.slice(1) : id;
}

/** Parses "af_heart:0.7,am_adam:0.3" into [{id, weight}]. */
export function parseVoiceSpec(spec) {
  if (!spec) return [];
  return String(spec)
    .split(',')
    .map((part) => {
      const [id, w] = part.split(':');
      return { id: id.trim(), weight: w === undefined ? 1 : Number(w) };
    })
    .filter((p) => p.id);
}

export function blendSpec(a, b, weightA) {
  const wa = Math.round(weightA * 100) / 100;
  const wb = Math.round((1 - wa) * 100) / 100;
  if (!b || wb <= 0) return a;
  if (wa <= 0) return b;
  return `${a}:${wa},${b}:${wb}`;
}

/** The server lists every voice of the model and says which the engine
 *  cannot speak in (`supported: false`, `unsupported_reason`); a voice from
 *  a server that does not say is taken as supported. */
export function isSupported(v) {
  return !v || v.supported !== false;
}

export function unsupportedReason(v) {
  return isSupported(v) ? '' : v.unsupported_reason || 'This voice is not supported.';
}

export function describeVoice(spec) {
  const parts = parseVoiceSpec(spec);
  if (parts.length <= 1) return parts[0] ? parts[0].id : '';
  return parts.map((p) => `${p.id} ${Math.round(p.weight * 100)}%`).join(' + ');
}

/** Voices by language, then gender; q filters by id or language name. */
function groupVoices(list, filter) {
  const q = filter.trim().toLowerCase();
  const langs = new Map();
  for (const v of list) {
    if (q && !v.id.toLowerCase().includes(q) && !languageName(v.language).toLowerCase().includes(q)) continue;
    if (!langs.has(v.language)) langs.set(v.language, new Map());
    const g = langs.get(v.language);
    const gender = v.gender || 'other';
    if (!g.has(gender)) g.set(gender, []);
    g.get(gender).push(v);
  }
  return [...langs].map(([language, g]) => ({
    language,
    label: languageName(language),
    genders: [...g].sort((a, b) => a[0].localeCompare(b[0])).map(([gender, voices]) => ({ gender, voices })),
  }));
}

export const useVoices = defineStore('voices', {
  state: () => ({ list: [], loaded: false, previewing: null, filter: '' }),
  getters: {
    ids: (s) => s.list.map((v) => v.id),
    byId: (s) => (id) => s.list.find((v) => v.id === id),
    /** Every voice grouped, whatever the voice panel's filter (the other menus' list). */
    groupedAll(s) {
      return groupVoices(s.list, '');
    },
    /** [{language, label, genders: [{gender, voices: [...]}]}], filtered by the voice panel's filter. */
    grouped(s) {
      return groupVoices(s.list, s.filter);
    },
  },
  actions: {
    async load() {
      try {
        this.list = await api.voices();
        this.loaded = true;
      } catch (e) {
        useToasts().error(`Could not load the voices: ${e.message}`, { key: 'voices' });
      }
    },
    async preview(id) {
      const v = this.list.find((x) => x.id === id);
      if (!isSupported(v)) {
        useToasts().error(unsupportedReason(v), { key: 'preview' });
        return;
      }
      if (this.previewing === id) {
        engine.stopPreview();
        this.previewing = null;
        return;
      }
      this.previewing = id;
      try {
        await engine.playPreview(api.voicePreviewUrl(id), () => {
          if (this.previewing === id) this.previewing = null;
        });
      } catch (e) {
        if (this.previewing === id) this.previewing = null;
        useToasts().error(`Could not preview ${id}: ${e.message}`, { key: 'preview' });
      }
    },
  },
});
