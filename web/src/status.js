// One meaning, one colour: what state a segment is in, as the list, the
// waveform and the overview strip all draw it. The colours are the theme's
// --st-ready, --st-pending, --st-selected and --st-error (styles/status.css),
// so a colour means the same thing everywhere in every theme.

export const STATUS_KINDS = ['ready', 'pending', 'selected', 'error'];

/**
 * The kind a segment is drawn as: selected wins, then error, then ready
 * (rendered); anything else (pending, rendering) is pending.
 */
export function statusKind(s, selectedId) {
  if (s.id === selectedId) return 'selected';
  if (s.status === 'error') return 'error';
  if (s.status === 'ready') return 'ready';
  return 'pending';
}

function cssVar(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

/**
 * The theme's status colours now: {solid: {kind: colour}, fill: {kind:
 * translucent colour for regions}}. Read again when the theme changes.
 */
export function statusColors() {
  const solid = {};
  const fill = {};
  const fallback = { ready: '#1f9d57', pending: '#6e6c8a', selected: '#4f3fd6', error: '#d92d4a' };
  for (const k of STATUS_KINDS) {
    solid[k] = cssVar(`--st-${k}`, fallback[k]);
    fill[k] = cssVar(`--st-${k}-fill`, solid[k]);
  }
  return { solid, fill };
}
