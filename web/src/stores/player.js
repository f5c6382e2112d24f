import { defineStore } from 'pinia';
import { engine } from '../audio/engine.js';
import { useProject, spanOf } from './project.js';

let reportEvery = 0;

export const usePlayer = defineStore('player', {
  state: () => ({
    currentMs: 0,
    playing: false,
    durationMs: 0,
    loop: false,
    follow: true,
    zoom: 50, // waveform pixels per second
  }),
  getters: {
    playingIndex() {
      return useProject().indexAt(this.currentMs);
    },
    playingId() {
      const i = this.playingIndex;
      const p = useProject();
      return i >= 0 ? p.segments[i].id : null;
    },
  },
  actions: {
    init() {
      engine.on('time', (t) => {
        this.currentMs = Math.round(t * 1000);
        if (this.playing && ++reportEvery % 100 === 0) useProject().reportPlayhead(this.currentMs);
      });
      engine.on('state', (playing) => {
        this.playing = playing;
        useProject().reportPlayhead(Math.round(engine.position * 1000));
      });
      engine.on('duration', (d) => {
        this.durationMs = Math.round(d * 1000);
      });
      engine.on('seek', (t) => useProject().reportPlayhead(Math.round(t * 1000)));
    },
    toggle() {
      engine.toggle();
    },
    play() {
      engine.play();
    },
    pause() {
      engine.pause();
    },
    seek(ms) {
      engine.seek(ms / 1000);
    },
    skip(deltaMs) {
      engine.seek(engine.position + deltaMs / 1000);
    },
    /** Selects a segment and moves the playhead to its start. */
    goTo(id, { play = false } = {}) {
      const p = useProject();
      const s = p.byId.get(id);
      if (!s) return;
      p.selectedId = id;
      const sp = spanOf(s);
      if (sp) engine.seek(sp.start / 1000);
      this.updateLoop();
      if (play) engine.play();
    },
    step(dir) {
      const p = useProject();
      if (!p.segments.length) return;
      let i = p.selectedIndex;
      if (i < 0) i = Math.max(0, this.playingIndex);
      else i += dir;
      i = Math.max(0, Math.min(p.segments.length - 1, i));
      this.goTo(p.segments[i].id);
    },
    toggleLoop() {
      this.loop = !this.loop;
      this.updateLoop();
    },
    /** Keeps the loop on the selected segment (its cue and its speech). */
    updateLoop() {
      const p = useProject();
      const s = p.selected;
      const sp = s && spanOf(s);
      if (this.loop && sp) engine.setLoop({ start: sp.start / 1000, end: sp.end / 1000 });
      else engine.setLoop(null);
    },
    setZoom(px) {
      this.zoom = Math.max(5, Math.min(1000, Math.round(px)));
    },
  },
});
