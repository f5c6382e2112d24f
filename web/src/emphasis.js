// The emphasis markup of a segment's text as the engine reads it
// (src/common/kk_emphasis.h: "*word*" or "[word](+)", a word or a few
// stressed), for the editor's Emphasise control (Ctrl+E): the selected
// words wrapped in "*…*", or their marks taken off when they already are
// emphasised. The rules here are the engine's, so that what the editor
// makes is what the engine stresses.

const isWs = (c) => /\s/.test(c);
const isAsciiAlnum = (c) => /[A-Za-z0-9]/.test(c);
// after which a '*' may open emphasis (kk_emphasis.c opens_before)
const OPENERS = '([“‘"\'';
// kept outside the marks: "quickly." is emphasised as "*quickly*.", "(so)" as "(*so*)"
const LEAD = '"\'“‘([';
const TRAIL = '.,;:!?…"\'”’)]';
// where a word ends when a selection is widened to whole words (an apostrophe is inside one: "don't")
const WORD_END = '.,;:!?…"”)]*';

function opensBefore(t, i) {
  return i === 0 || isWs(t[i - 1]) || OPENERS.includes(t[i - 1]);
}

/**
 * The emphasis markup starting at index i of t, as the engine recognises it:
 * {start, end, textStart, textEnd} (the whole markup t[start, end), the words
 * inside t[textStart, textEnd)), or null.
 */
export function emphasisAt(t, i) {
  const n = t.length;
  if (t[i] === '[') {
    let j = i + 1;
    let blank = true;
    while (j < n && t[j] !== ']' && t[j] !== '[' && t[j] !== '\n') {
      if (!isWs(t[j])) blank = false;
      j++;
    }
    if (j >= n || t[j] !== ']' || blank || t.slice(j + 1, j + 4) !== '(+)') return null;
    return { start: i, end: j + 4, textStart: i + 1, textEnd: j };
  }
  if (t[i] === '*') {
    if (!opensBefore(t, i) || i + 1 >= n || isWs(t[i + 1]) || t[i + 1] === '*') return null;
    let j = i + 1;
    while (j < n && t[j] !== '*' && t[j] !== '\n') j++;
    if (j >= n || t[j] !== '*' || isWs(t[j - 1])) return null;
    if (j + 1 < n && (isAsciiAlnum(t[j + 1]) || t[j + 1] === '*')) return null;
    return { start: i, end: j + 1, textStart: i + 1, textEnd: j };
  }
  return null;
}

/** Every emphasis of t, left to right, as the engine reads them (one ends before the next begins). */
export function emphasisSpans(t) {
  const out = [];
  for (let i = 0; i < t.length; ) {
    const sp = emphasisAt(t, i);
    if (sp) {
      out.push(sp);
      i = sp.end;
    } else i++;
  }
  return out;
}

/**
 * Emphasis on or off for text[start, end) (start === end: the word at the
 * caret). Inside an emphasis (marks included or not) the marks go; else the
 * words the selection touches are wrapped in "*…*", punctuation and quotes
 * at its edges left outside. Returns {text, start, end}, the selection then
 * over the same words, or {error} saying why nothing was done.
 */
export function toggleEmphasis(text, start, end) {
  let a = Math.max(0, Math.min(start, end));
  let b = Math.min(text.length, Math.max(start, end));
  for (const sp of emphasisSpans(text)) {
    if (sp.start <= a && b <= sp.end) {
      const inner = text.slice(sp.textStart, sp.textEnd);
      return { text: text.slice(0, sp.start) + inner + text.slice(sp.end), start: sp.start, end: sp.start + inner.length };
    }
  }
  // whole words: a selection that begins or ends inside one takes all of it
  while (a > 0 && !isWs(text[a - 1]) && !OPENERS.includes(text[a - 1]) && text[a - 1] !== '*') a--;
  while (b < text.length && !isWs(text[b]) && !WORD_END.includes(text[b])) b++;
  while (a < b && (isWs(text[a]) || LEAD.includes(text[a]))) a++;
  while (b > a && (isWs(text[b - 1]) || TRAIL.includes(text[b - 1]))) b--;
  if (a === b) return { error: 'Select a word (or put the text cursor in one) to emphasise it.' };
  const inner = text.slice(a, b);
  if (/[*[\]\n]/.test(inner)) return { error: 'Emphasise words without a *, a bracket or a line break among them.' };
  const out = `${text.slice(0, a)}*${inner}*${text.slice(b)}`;
  const sp = emphasisAt(out, a);
  if (!sp || sp.end !== b + 2) return { error: `“${inner}” cannot be marked there: the marks must stand at the edges of whole words.` };
  return { text: out, start: a + 1, end: b + 1 };
}
