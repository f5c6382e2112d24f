// The studio's keyboard shortcuts: one table for the handler and the help
// overlay. `anywhere`: also while typing in a text field.

import { nextTick } from 'vue';
import { useProject } from './stores/project.js';
import { usePlayer } from './stores/player.js';
import { isTyping } from './util.js';
import { useToasts } from './stores/toasts.js';

const mod = (e) => e.ctrlKey || e.metaKey;

/** The row of a segment's text field, when el is one; else null. */
function segTextRow(el) {
  return el && el.tagName === 'TEXTAREA' && el.closest ? el.closest('.seg-row') : null;
}

/**
 * Ctrl+E and the details' Emphasise button: emphasis on or off for the
 * selection of the segment text field `from` (the key's target), else for
 * the selected segment's last selection in its field; then the same words
 * are selected in the field again (and focused when `focus`, or when the
 * key came from it).
 */
export async function emphasiseSelection(project, from, { focus = false } = {}) {
  const row = segTextRow(from);
  const id = row ? Number(row.dataset.id) : project.selectedId;
  if (id == null || !project.byId.get(id)) return;
  if (!row && !project.selection[id]) {
    useToasts().info("Select the word(s) to emphasise in the segment's text first (or put the text cursor in one).");
    return;
  }
  const [a, b] = row ? [from.selectionStart, from.selectionEnd] : project.selection[id];
  const r = await project.emphasise(id, a, b);
  if (!r) return;
  project.selection[id] = [r.start, r.end];
  project.caret[id] = r.start;
  await nextTick();
  const ta = document.querySelector(`.seg-row[data-id="${id}"] textarea`);
  if (ta) {
    if (focus || row) ta.focus();
    ta.setSelectionRange(r.start, r.end);
  }
  await r.saved;
}

/** Focus follows the selection: a step from a segment's text (or speaker)
 *  field puts the caret in the new segment's text (SegmentList does it). */
function stepFrom(ctx, e, dir) {
  const fromField = !!(e.target && e.target.closest && e.target.closest('.seg-row') && isTyping(e.target));
  ctx.player.step(dir);
  if (fromField && ctx.project.selectedId != null) ctx.ui.focusText = ctx.project.selectedId;
}

export const SHORTCUTS = [
  {
    keys: ['Space'],
    what: 'Play or pause (outside text fields)',
    match: (e) => e.code === 'Space' && !mod(e) && !e.altKey && !e.shiftKey,
    run: ({ player }) => player.toggle(),
  },
  {
    keys: ['Ctrl', 'Space'],
    what: 'Play or pause, also while typing',
    anywhere: true,
    match: (e) => e.code === 'Space' && mod(e) && !e.altKey,
    run: ({ player }) => player.toggle(),
  },
  {
    keys: ['Alt', '↓'],
    alt: ['J'],
    what: 'Next segment',
    anywhere: true,
    match: (e) => e.altKey && !mod(e) && e.key === 'ArrowDown',
    run: (ctx, e) => stepFrom(ctx, e, 1),
  },
  {
    hidden: true,
    keys: ['J'],
    match: (e) => !e.altKey && !mod(e) && e.key === 'j',
    run: ({ player }) => player.step(1),
  },
  {
    keys: ['Alt', '↑'],
    alt: ['K'],
    what: 'Previous segment',
    anywhere: true,
    match: (e) => e.altKey && !mod(e) && e.key === 'ArrowUp',
    run: (ctx, e) => stepFrom(ctx, e, -1),
  },
  {
    hidden: true,
    keys: ['K'],
    match: (e) => !e.altKey && !mod(e) && e.key === 'k',
    run: ({ player }) => player.step(-1),
  },
  {
    keys: ['Ctrl', 'Z'],
    what: 'Undo the last edit',
    anywhere: true,
    match: (e) => mod(e) && !e.shiftKey && !e.altKey && e.key.toLowerCase() === 'z',
    run: ({ project }) => project.undo(),
  },
  {
    keys: ['Ctrl', 'Shift', 'Z'],
    alt: ['Ctrl', 'Y'],
    what: 'Redo',
    anywhere: true,
    match: (e) => mod(e) && !e.altKey && ((e.shiftKey && e.key.toLowerCase() === 'z') || (!e.shiftKey && e.key.toLowerCase() === 'y')),
    run: ({ project }) => project.redo(),
  },
  {
    keys: ['Ctrl', 'S'],
    what: 'Save typing now (it is saved as you type anyway)',
    anywhere: true,
    match: (e) => mod(e) && !e.altKey && e.key.toLowerCase() === 's',
    run: ({ project }) => project.flushAll(),
  },
  {
    keys: ['Alt', 'L'],
    alt: ['L'],
    what: 'Loop the selected segment on or off',
    anywhere: true,
    match: (e) => e.altKey && !mod(e) && e.code === 'KeyL',
    run: ({ player }) => player.toggleLoop(),
  },
  {
    hidden: true,
    keys: ['L'],
    match: (e) => !e.altKey && !mod(e) && e.key === 'l',
    run: ({ player }) => player.toggleLoop(),
  },
  {
    keys: ['Alt', 'D'],
    what: "Jump to the selected segment's details (Alt+D again: back to its text)",
    anywhere: true,
    match: (e) => e.altKey && !mod(e) && !e.shiftKey && e.code === 'KeyD',
    run: ({ project, ui }, e) => {
      const inDetail = e.target && e.target.closest && e.target.closest('[data-test=detail]');
      if (inDetail && project.selectedId != null) ui.focusText = project.selectedId;
      else ui.focusDetail = (ui.focusDetail || 0) + 1;
    },
  },
  {
    keys: ['Alt', 'S'],
    what: 'Split the selected segment at the text cursor',
    anywhere: true,
    match: (e) => e.altKey && !mod(e) && e.code === 'KeyS',
    run: ({ project }) => project.selectedId != null && project.split(project.selectedId, project.caret[project.selectedId]),
  },
  {
    keys: ['Ctrl', 'E'],
    what: "Emphasise the selected word(s) of a segment's text (*word*); again takes the emphasis off",
    anywhere: true,
    // in a segment's text, or outside any field (the selected segment's last selection); other fields keep the key
    match: (e) => mod(e) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'e' && (!!segTextRow(e.target) || !isTyping(e.target)),
    run: ({ project }, e) => emphasiseSelection(project, e.target),
  },
  {
    keys: ['Alt', 'M'],
    what: 'Merge the selected segment with the next',
    anywhere: true,
    match: (e) => e.altKey && !mod(e) && e.code === 'KeyM',
    run: ({ project }) => project.selectedId != null && project.mergeWithNext(project.selectedId),
  },
  {
    keys: ['Alt', '['],
    alt: ['Alt', ']'],
    what: 'Nudge the start 100 ms earlier / later',
    anywhere: true,
    match: (e) => e.altKey && !e.shiftKey && !mod(e) && (e.code === 'BracketLeft' || e.code === 'BracketRight'),
    run: ({ project }, e) => project.selectedId != null && project.nudge(project.selectedId, 'start', e.code === 'BracketLeft' ? -100 : 100),
  },
  {
    keys: ['Alt', 'Shift', '['],
    alt: ['Alt', 'Shift', ']'],
    what: 'Nudge the end 100 ms earlier / later',
    anywhere: true,
    match: (e) => e.altKey && e.shiftKey && !mod(e) && (e.code === 'BracketLeft' || e.code === 'BracketRight'),
    run: ({ project }, e) => project.selectedId != null && project.nudge(project.selectedId, 'end', e.code === 'BracketLeft' ? -100 : 100),
  },
  {
    keys: ['Alt', 'I'],
    alt: ['I'],
    what: "Set the selected cue's start at the playhead",
    anywhere: true,
    match: (e) => e.altKey && !mod(e) && !e.shiftKey && e.code === 'KeyI',
    run: ({ project, player }) => project.selectedId != null && project.setEdgeAt(project.selectedId, 'start', player.currentMs),
  },
  {
    hidden: true,
    keys: ['I'],
    match: (e) => !e.altKey && !mod(e) && e.key === 'i',
    run: ({ project, player }) => project.selectedId != null && project.setEdgeAt(project.selectedId, 'start', player.currentMs),
  },
  {
    keys: ['Alt', 'O'],
    alt: ['O'],
    what: "Set the selected cue's end at the playhead",
    anywhere: true,
    match: (e) => e.altKey && !mod(e) && !e.shiftKey && e.code === 'KeyO',
    run: ({ project, player }) => project.selectedId != null && project.setEdgeAt(project.selectedId, 'end', player.currentMs),
  },
  {
    hidden: true,
    keys: ['O'],
    match: (e) => !e.altKey && !mod(e) && e.key === 'o',
    run: ({ project, player }) => project.selectedId != null && project.setEdgeAt(project.selectedId, 'end', player.currentMs),
  },
  {
    keys: ['←'],
    alt: ['→'],
    what: 'Seek 1 s back / ahead (Shift: 5 s)',
    match: (e) => !mod(e) && !e.altKey && (e.key === 'ArrowLeft' || e.key === 'ArrowRight'),
    run: ({ player }, e) => player.skip((e.key === 'ArrowLeft' ? -1 : 1) * (e.shiftKey ? 5000 : 1000)),
  },
  {
    keys: ['Home'],
    alt: ['End'],
    what: 'Go to the start / end of the track',
    match: (e) => !mod(e) && !e.altKey && (e.key === 'Home' || e.key === 'End'),
    run: ({ player }, e) => player.seek(e.key === 'Home' ? 0 : player.durationMs),
  },
  {
    keys: ['+'],
    alt: ['−'],
    what: 'Zoom the waveform in / out',
    match: (e) => !mod(e) && !e.altKey && (e.key === '+' || e.key === '=' || e.key === '-'),
    run: ({ player }, e) => player.setZoom(player.zoom * (e.key === '-' ? 0.67 : 1.5)),
  },
  {
    keys: ['Esc'],
    what: 'Leave the text field (then Space plays), close dialogs',
    anywhere: true,
    match: (e) => e.key === 'Escape',
    run: (_s, e) => {
      if (isTyping(e.target) && e.target.blur) e.target.blur();
    },
    passive: true,
  },
  {
    keys: ['?'],
    what: 'Show this help',
    match: (e) => e.key === '?' && !mod(e) && !e.altKey,
    run: ({ ui }) => ui.toggleHelp(),
  },
];

/** Runs the first shortcut matching a keydown; true when one ran. */
export function handleKey(e, ui) {
  if (e.defaultPrevented || e.isComposing) return false;
  const typing = isTyping(e.target);
  const onButton = e.target && (e.target.tagName === 'BUTTON' || e.target.getAttribute?.('role') === 'button' || e.target.tagName === 'A');
  for (const s of SHORTCUTS) {
    if (!s.match(e)) continue;
    if (typing && !s.anywhere) return false;
    // Space and Enter on a button activate it, as usual.
    if (onButton && e.code === 'Space' && !mod(e)) return false;
    if (!typing && s.keys[0] === '←' && e.target && e.target.getAttribute?.('type') === 'range') return false;
    const ctx = { project: useProject(), player: usePlayer(), ui };
    if (!s.passive) e.preventDefault();
    s.run(ctx, e);
    return true;
  }
  return false;
}
