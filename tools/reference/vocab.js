// Map a phoneme string (misaki-style IPA, as the Kokoro vocab spells it) to
// token ids using the model's config.json vocab.  Pads are NOT added.
//   node tools/reference/vocab.js "həlˈO wˈɜɹld."   -> prints the ids
'use strict';
const fs = require('fs');
const path = require('path');

function modelDir() {
  return process.env.KOKORO_MODEL_DIR ||
    path.resolve(__dirname, '..', '..', '..', 'shared', 'models', 'kokoro-82m-v1.0');
}

function loadVocab(dir) {
  const cfg = JSON.parse(fs.readFileSync(path.join(dir || modelDir(), 'config.json'), 'utf8'));
  return cfg.vocab;
}

function phonemesToIds(text, vocab) {
  const ids = [];
  for (const ch of Array.from(text.normalize('NFC'))) {
    const id = vocab[ch];
    if (id === undefined) throw new Error('symbol not in vocab: ' + JSON.stringify(ch) + ' U+' + ch.codePointAt(0).toString(16));
    ids.push(id);
  }
  return ids;
}

module.exports = { modelDir, loadVocab, phonemesToIds };

if (require.main === module) {
  const text = process.argv.slice(2).join(' ');
  if (!text) { process.stderr.write('usage: node vocab.js PHONEMES\n'); process.exit(2); }
  process.stdout.write(phonemesToIds(text, loadVocab()).join(',') + '\n');
}
