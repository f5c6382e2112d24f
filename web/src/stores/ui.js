import { defineStore } from 'pinia';

export const useUi = defineStore('ui', {
  // segView: the segments as the virtualised list or as a flowing transcript.
  // dropped: files dropped anywhere on the window (App.vue), for the input panel to take.
  // focusText: a segment id whose text field is to get the caret (focus follows the selection);
  // focusDetail: bumped to move the focus into the detail panel.
  state: () => ({ help: false, tab: 'input', inputSection: 'files', segView: 'list', dropped: null, dragging: false, focusText: null, focusDetail: 0 }),
  actions: {
    toggleHelp() {
      this.help = !this.help;
    },
  },
});
