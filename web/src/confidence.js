// Transcript confidence (WScribe's `score`, 0..1) as a colour class and a
// phrase: the list, the transcript and the detail panel colour a segment or
// a word the same way. Thresholds as WScribe's editor draws them: below
// 0.5 is doubtful, below 0.8 worth a look.

export const CONF_LOW = 0.5;
export const CONF_MID = 0.8;

/** 'conf-low' | 'conf-mid' | 'conf-high' | '' (no score). */
export function confidenceClass(score) {
  if (score == null || !Number.isFinite(score)) return '';
  if (score < CONF_LOW) return 'conf-low';
  if (score < CONF_MID) return 'conf-mid';
  return 'conf-high';
}

/** "Confidence 42 % (doubtful)" for a title or a screen reader; '' without a score. */
export function confidenceText(score) {
  const c = confidenceClass(score);
  if (!c) return '';
  const what = c === 'conf-low' ? 'doubtful' : c === 'conf-mid' ? 'worth a look' : 'confident';
  return `Confidence ${Math.round(score * 100)} % (${what})`;
}
