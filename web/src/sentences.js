// Typed text that speaks at once: a pasted paragraph becomes one segment
// per sentence, so that the first sentence is rendered (nearest the
// playhead first, src/server/jobs.c) and heard while the rest are still
// being made, instead of waiting for the whole paragraph.

const ABBREV = /\b(?:Mr|Mrs|Ms|Dr|Prof|St|Sr|Jr|vs|etc|e\.g|i\.e|No|Fig|Mt)\.$/i;

/** The sentences of one paragraph (line breaks inside it are spaces). */
export function sentencesOf(paragraph, locale = 'en') {
  const text = paragraph.replace(/\s*\n\s*/g, ' ').trim();
  if (!text) return [];
  let parts;
  if (typeof Intl !== 'undefined' && Intl.Segmenter) {
    parts = [...new Intl.Segmenter(locale, { granularity: 'sentence' }).segment(text)].map((x) => x.segment);
  } else {
    parts = text.match(/[^.!?…。！？]+(?:[.!?…。！？]+["'”’)\]]*\s*|$)/g) || [text];
  }
  // Join back what an abbreviation ("Dr. Smith") or a lone fragment split.
  const out = [];
  for (const p of parts) {
    const t = p.trim();
    if (!t) continue;
    if (out.length && (ABBREV.test(out[out.length - 1]) || !/[\p{L}\p{N}]/u.test(t))) out[out.length - 1] += ' ' + t;
    else out.push(t);
  }
  return out;
}

/**
 * Plain text with one sentence per paragraph (blank lines between): the
 * txt parser makes each its own segment. Paragraphs stay in order.
 */
export function splitSentences(text, locale = 'en') {
  return text
    .replace(/\r\n?/g, '\n')
    .split(/\n\s*\n/)
    .flatMap((para) => sentencesOf(para, locale))
    .join('\n\n');
}
