// make_srt.mjs - the subtitle file the render benchmarks speak: N cues of
// eight everyday sentences in turn, one every EVERY ms from START, each LEN
// ms long. With --unique each cue after the first eight gets " Take K." so
// that every cue is its own render (render_bench.sh); without it the cues
// repeat and the render cache speaks each sentence once (long_track.sh).
//
//   node bench/make_srt.mjs --cues N [--start 500] [--every 4500] [--length 4000] [--unique] > FILE.srt
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const n = opt("--cues", 24), start = opt("--start", 500), every = opt("--every", 4500), len = opt("--length", 4000);
const unique = args.includes("--unique");
if (!(n >= 0 && every > 0 && len > 0)) {
  console.error("usage: node bench/make_srt.mjs --cues N [--start MS] [--every MS] [--length MS] [--unique]");
  process.exit(2);
}
const lines = ["The morning light fell softly across the quiet harbour.",
  "She opened the letter and read it twice before she spoke.",
  "Nobody expected the storm to arrive so early in the season.",
  "We will meet again at the old bridge when the bells ring.",
  "His voice was calm, but his hands were shaking.",
  "The market was loud with traders calling out their prices.",
  "Every answer led to another question, and then another.",
  "They walked along the river until the path disappeared."];
const p = (x, w) => String(x).padStart(w, "0");
const t = (ms) => `${p(Math.floor(ms / 3600000), 2)}:${p(Math.floor(ms / 60000) % 60, 2)}:` +
  `${p(Math.floor(ms / 1000) % 60, 2)},${p(ms % 1000, 3)}`;
let out = "";
for (let i = 0; i < n; i++) {
  const take = unique && i >= lines.length ? ` Take ${1 + Math.floor(i / lines.length)}.` : "";
  out += `${i + 1}\n${t(start + i * every)} --> ${t(start + i * every + len)}\n${lines[i % lines.length]}${take}\n\n`;
}
process.stdout.write(out);
