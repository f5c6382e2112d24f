import { defineStore } from 'pinia';

// What the waveform's view shows and what the overview strip asks of it:
// the waveform (WaveformView) reports the window it shows (seconds) and the
// track's length; the overview (OverviewStrip) asks it to scroll by setting
// `want` (the second the window should start at), which the waveform
// applies and clears. Neither component reaches into the other.
export const useTimeline = defineStore('timeline', {
  state: () => ({
    viewStart: 0, // seconds: the left edge of the waveform's view
    viewEnd: 0, // seconds: its right edge
    duration: 0, // seconds: the whole track, as the waveform knows it
    want: null, // seconds: where the view should start (a request), or null
  }),
  actions: {
    /** The waveform says what it shows now. */
    report(start, end, duration) {
      this.viewStart = Math.max(0, start);
      this.viewEnd = Math.max(this.viewStart, end);
      this.duration = Math.max(0, duration);
    },
    /** Asks the waveform to show the window starting at `start` seconds. */
    scrollTo(start) {
      const span = this.viewEnd - this.viewStart;
      const max = Math.max(0, this.duration - span);
      this.want = Math.max(0, Math.min(max, start));
    },
  },
});
