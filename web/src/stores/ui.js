import { defineStore } from 'pinia';

export const useUi = defineStore('ui', {
  // segView: the segments as the virtualised list or as a flowing transcript.
  state: () => ({ help: false, tab: 'input', inputSection: 'files', segView: 'list' }),
  actions: {
    toggleHelp() {
      this.help = !this.help;
    },
  },
});
