// Writes the synthetic "flags" tokenizer (tests/Distill.Text.Tests/data/flags/tokenizer.json) and its
// extra corpus (corpus_flags.jsonl): the Distill-trained byte-level BPE (vocab 600) under a
// Sequence[NFKC, Lowercase] normalizer, with added tokens exercising every flag (lstrip, rstrip,
// single_word, normalized, special) alone and combined. make_expected.mjs then records what Hugging
// Face's `tokenizers` does with it on corpus.jsonl + corpus_flags.jsonl.
//   Run: node make_flags_tokenizer.mjs && node make_expected.mjs
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const base = JSON.parse(readFileSync(path.join(repo, 'tests/Distill.Text.Tests/data/trained/tokenizer.json'), 'utf8'));
const flags = (content, f = {}) => ({ content, single_word: !!f.single_word, lstrip: !!f.lstrip, rstrip: !!f.rstrip, normalized: !!f.normalized, special: !!f.special });
const added = [
  flags('<MASK>', { lstrip: true, normalized: true, special: true }),   // matched as "<mask>" after lowercasing
  flags('[SEP]', { rstrip: true, special: true }),                       // exact, original text
  flags('Hello', { single_word: true, normalized: true }),               // "hello" as a whole word, any case
  flags('WORLD', { single_word: true }),                                 // exact "WORLD" as a whole word
  flags('<pad>', { lstrip: true, rstrip: true, single_word: true, special: true }),
  flags('ab', { lstrip: true, rstrip: true, single_word: true, normalized: true }),
  flags('abc', { normalized: true }),                                    // longer than "ab": leftmost-longest
  flags('low', { normalized: true }),
  flags('lower', { single_word: true, normalized: true }),               // a refused longest match hides "low"
  flags('İx', { normalized: true }),                                     // NFKC+Lowercase: "i̇x" (i + U+0307)
  flags('ﬁre', { normalized: true, special: true }),                     // NFKC: "fire"
  flags('ΟΔΟΣ', { normalized: true }),                                   // "οδοσ": no final-sigma rule in Rust's Lowercase
  flags('  ', { special: true, normalized: false }),                     // whitespace-only token
  flags('Ⓐb', { single_word: true, normalized: false }),                 // circled letter: Alphabetic, so \w
];
const json = structuredClone(base);
json.added_tokens = base.added_tokens.concat(added.map((t, k) => ({ id: 600 + k, ...t })));
json.normalizer = { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' }] };
mkdirSync(path.join(repo, 'tests/Distill.Text.Tests/data/flags'), { recursive: true });
writeFileSync(path.join(repo, 'tests/Distill.Text.Tests/data/flags/tokenizer.json'), JSON.stringify(json, null, 2) + '\n');

const strings = [
  'İstanbul İSTANBUL i̇stanbul', 'İx İX i̇x İxİx', 'ΟΔΟΣ οδος ΟΔΟΣ. Σ σ ς ΣΑΣ', 'ǅ ǈ ǋ Ω K Å ẞ',
  'a <MASK> b', 'a    <MASK>b', 'a<mask>', '   <Mask>   ', '<MASK><MASK>', '\t\n<MASK>', 'a\u00A0\u3000<MASK>',
  'x [SEP]   y', '[SEP]', '[SEP]\n\n[sep]', '[SEP] [SEP]', 'x[SEP]y', '<MASK>[SEP]<MASK>',
  'Hello world', 'HELLO, hello! hELLo?', 'Hellos helloHello _hello hello_ hello1 1hello', 'héllo hello\u0301 hello\u200d',
  'WORLD world World', 'WORLDs xWORLD WORLD-WORLD', '(WORLD)', 'WORLD²', '²WORLD', 'Ⅳhello helloⅣ', 'ⒶHello hello_Ⓑ',
  'x <pad> y', 'x<pad>y', '  <pad>  ', '<pad><pad>', 'a <pad>b', 'a\t<pad>\tb',
  'ab abc abcd xab ab. AB Ab  ab  c', 'ab ab ab', ' ab', 'ab ', 'aab abb', 'ab\u0301', 'ab‿ab',
  'lower lowers low slow LOWER Lower, lowest', 'flower lowered', 'lower.lower',
  'ﬁre fire FIRE ﬁrefly Fire!', 'ＨＥＬＬＯ ｈｅｌｌｏ ＷＯＲＬＤ', 'Ⓐb Ⓐbc xⒶb Ⓐb!', '①hello hello①',
  'a  b   c', '  ', '    ', '<|endoftext|>Hello<|endoftext|>', '<|im_start|>user\nHELLO [SEP] <MASK><|im_end|>',
  'The café ﬁnal ǲ Hello WORLD <MASK> [SEP] <pad> lower', '',
];
writeFileSync(path.join(here, 'corpus_flags.jsonl'), strings.map(text => JSON.stringify({ text })).join('\n') + '\n');
console.log(`flags tokenizer: ${json.added_tokens.length} added tokens; corpus_flags.jsonl: ${strings.length} strings`);
