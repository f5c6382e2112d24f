import { defineStore } from 'pinia';

export const useUi = defineStore('ui', {
  state: () => ({ help: false, tab: 'input', inputSection: 'files' }),
  actions: {
    toggleHelp() {
      this.help = !this.help;
    },
  },
});
