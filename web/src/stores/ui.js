import { defineStore } from 'pinia';

export const useUi = defineStore('ui', {
  // dropped: files dropped anywhere on the window (App.vue), for the input panel to take.
  state: () => ({ help: false, tab: 'input', inputSection: 'files', dropped: null, dragging: false }),
  actions: {
    toggleHelp() {
      this.help = !this.help;
    },
  },
});
