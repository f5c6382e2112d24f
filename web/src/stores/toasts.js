import { defineStore } from 'pinia';

let nextId = 1;

// Notifications: errors stay until dismissed (or replaced by the same key),
// the rest fade after a few seconds. Rendered in an aria-live region.
export const useToasts = defineStore('toasts', {
  state: () => ({ items: [] }),
  actions: {
    push({ kind = 'info', title = '', message, key = null, timeout }) {
      if (key) this.items = this.items.filter((t) => t.key !== key);
      const id = nextId++;
      const ms = timeout ?? (kind === 'error' ? 0 : kind === 'warning' ? 8000 : 4000);
      this.items.push({ id, kind, title, message, key });
      if (this.items.length > 6) this.items.splice(0, this.items.length - 6);
      if (ms > 0) setTimeout(() => this.dismiss(id), ms);
      return id;
    },
    info(message, opts = {}) {
      return this.push({ ...opts, kind: 'info', message });
    },
    success(message, opts = {}) {
      return this.push({ ...opts, kind: 'success', message });
    },
    warning(message, opts = {}) {
      return this.push({ ...opts, kind: 'warning', message });
    },
    error(message, opts = {}) {
      return this.push({ ...opts, kind: 'error', message });
    },
    dismiss(id) {
      this.items = this.items.filter((t) => t.id !== id);
    },
    dismissKey(key) {
      this.items = this.items.filter((t) => t.key !== key);
    },
  },
});
