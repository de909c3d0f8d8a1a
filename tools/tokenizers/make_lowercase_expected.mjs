// Generates tests/Distill.Text.Tests/expected/lowercase.txt with Hugging Face's own `tokenizers`
// (npm Node binding of the Rust library): the Lowercase normalizer applied to every Unicode scalar
// value, one line "CP LOWER..." (hex) for each code point it changes. Rust lowercases char by char
// with char::to_lowercase (full mapping: U+0130 → U+0069 U+0307; no final-sigma rule).
//   Run: npm ci && node make_lowercase_expected.mjs
import { lowercase } from 'tokenizers';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '../../tests/Distill.Text.Tests/expected/lowercase.txt');
const n = lowercase();
const hex = cp => cp.toString(16).toUpperCase().padStart(4, '0');
const lines = [];
for (let cp = 0; cp <= 0x10FFFF; cp++) {
  if (cp >= 0xD800 && cp <= 0xDFFF) continue;
  const s = String.fromCodePoint(cp);
  const l = n.normalizeString(s);
  if (l !== s) lines.push(`${hex(cp)} ${[...l].map(c => hex(c.codePointAt(0))).join(' ')}`);
}
writeFileSync(out, lines.join('\n') + '\n');
console.log(`lowercase: ${lines.length} changed code points`);
