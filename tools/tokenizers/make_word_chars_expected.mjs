// Generates tests/Distill.Text.Tests/expected/word_chars.txt with Hugging Face's own `tokenizers`:
// which code points count as a word character for an added token with single_word=true (Rust's
// added_vocabulary.rs tests the neighbour with the regex crate's Unicode `\w`). For every Unicode
// scalar value c, "x"+c is encoded by a tokenizer whose only added token is "x" (single_word);
// the token is refused exactly when c is a word character. Output: ranges "FIRST LAST" (hex).
//   Run: npm ci && node make_word_chars_expected.mjs
import { Tokenizer } from 'tokenizers';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '../../tests/Distill.Text.Tests/expected/word_chars.txt');
const json = {
  version: '1.0', truncation: null, padding: null,
  added_tokens: [{ id: 1, content: 'x', single_word: true, lstrip: false, rstrip: false, normalized: false, special: false }],
  normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null,
  model: { type: 'WordLevel', vocab: { '[UNK]': 0 }, unk_token: '[UNK]' },
};
const file = path.join(mkdtempSync(path.join(tmpdir(), 'wordchars-')), 'tokenizer.json');
writeFileSync(file, JSON.stringify(json));
const tok = await Tokenizer.fromFile(file);
const cps = [];
for (let cp = 0; cp <= 0x10FFFF; cp++) if (cp < 0xD800 || cp > 0xDFFF) cps.push(cp);
const word = [];
for (let i = 0; i < cps.length; i += 8192) {
  const batch = cps.slice(i, i + 8192);
  const encs = await tok.encodeBatch(batch.map(cp => 'x' + String.fromCodePoint(cp)), { addSpecialTokens: false });
  encs.forEach((e, k) => { if (e.getIds()[0] !== 1) word.push(batch[k]); });
}
const hex = cp => cp.toString(16).toUpperCase().padStart(4, '0');
const ranges = [];
for (const cp of word) {
  if (ranges.length && ranges[ranges.length - 1][1] === cp - 1) ranges[ranges.length - 1][1] = cp;
  else ranges.push([cp, cp]);
}
writeFileSync(out, ranges.map(([a, b]) => `${hex(a)} ${hex(b)}`).join('\n') + '\n');
console.log(`word chars: ${word.length} code points in ${ranges.length} ranges`);
