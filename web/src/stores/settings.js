import { defineStore } from 'pinia';
import { api } from '../api.js';
import { useToasts } from './toasts.js';

export const MODES = ['light', 'dark'];
export const VARIANTS = ['brutalist', 'skeuomorphic', 'glassmorphic', 'retro'];
export const THEMES = MODES.flatMap((m) => VARIANTS.map((v) => `${m}-${v}`));
const KEY = 'kokoro.theme';
// Row density of the segment list: a per-screen choice, kept in this
// browser only (a laptop and a big monitor want different ones).
export const DENSITIES = ['comfortable', 'compact'];
const DENSITY_KEY = 'kokoro.density';

function parseTheme(t) {
  const m = typeof t === 'string' && /^(light|dark)-(brutalist|skeuomorphic|glassmorphic|retro)$/.exec(t);
  return m ? { mode: m[1], variant: m[2] } : null;
}

function stored(key = KEY) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

// The user's settings: theme (on <html data-theme data-variant>, kept in
// localStorage and on the server), favourite and recent voices (server),
// row density (localStorage).
export const useSettings = defineStore('settings', {
  state: () => {
    const el = document.documentElement;
    return {
      mode: el.getAttribute('data-theme') === 'dark' ? 'dark' : 'light',
      variant: VARIANTS.includes(el.getAttribute('data-variant')) ? el.getAttribute('data-variant') : 'glassmorphic',
      favourites: [],
      recent: [],
      density: DENSITIES.includes(stored(DENSITY_KEY)) ? stored(DENSITY_KEY) : 'comfortable',
      loaded: false,
    };
  },
  getters: {
    theme: (s) => `${s.mode}-${s.variant}`,
  },
  actions: {
    async load() {
      try {
        const s = await api.settings();
        this.favourites = Array.isArray(s.favourites) ? s.favourites : [];
        this.recent = Array.isArray(s.recent) ? s.recent : [];
        const t = parseTheme(s.theme);
        // This browser's choice wins; a new browser takes the server's.
        if (t && !parseTheme(stored())) this.apply(t.mode, t.variant, false);
        this.loaded = true;
      } catch (e) {
        useToasts().error(`Could not load your settings: ${e.message}`, { key: 'settings' });
      }
    },
    apply(mode, variant, save = true) {
      if (!MODES.includes(mode) || !VARIANTS.includes(variant)) return;
      this.mode = mode;
      this.variant = variant;
      const el = document.documentElement;
      el.setAttribute('data-theme', mode);
      el.setAttribute('data-variant', variant);
      try {
        localStorage.setItem(KEY, this.theme);
      } catch {
        /* private mode */
      }
      if (save) this.save({ theme: this.theme });
    },
    setTheme(theme) {
      const t = parseTheme(theme);
      if (t) this.apply(t.mode, t.variant);
    },
    /** 'comfortable' (two lines a row) or 'compact' (one line: 20+ cues on a screen). */
    setDensity(d) {
      if (!DENSITIES.includes(d)) return;
      this.density = d;
      try {
        localStorage.setItem(DENSITY_KEY, d);
      } catch {
        /* private mode */
      }
    },
    toggleMode() {
      this.apply(this.mode === 'dark' ? 'light' : 'dark', this.variant);
    },
    async toggleFavourite(id) {
      const favs = this.favourites.includes(id) ? this.favourites.filter((v) => v !== id) : [...this.favourites, id];
      const before = this.favourites;
      this.favourites = favs;
      const ok = await this.save({ favourites: favs });
      if (!ok) this.favourites = before;
    },
    noteRecent(voiceSpec) {
      // The server keeps `recent` from edits; mirror it at once here.
      const ids = String(voiceSpec || '')
        .split(',')
        .map((p) => p.split(':')[0].trim())
        .filter(Boolean);
      if (!ids.length) return;
      this.recent = [...ids, ...this.recent.filter((v) => !ids.includes(v))].slice(0, 8);
    },
    async save(part) {
      try {
        const s = await api.putSettings(part);
        if (s && Array.isArray(s.favourites)) this.favourites = s.favourites;
        if (s && Array.isArray(s.recent)) this.recent = s.recent;
        return true;
      } catch (e) {
        useToasts().error(`Could not save your settings: ${e.message}`, { key: 'settings' });
        return false;
      }
    },
  },
});
