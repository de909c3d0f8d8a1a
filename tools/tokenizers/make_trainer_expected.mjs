// Two checks of Distill's BpeTrainer against Hugging Face tokenizers (npm binding of the Rust library):
// 1. HF trains byte-level BPE on train.txt (lines of corpus.jsonl; Tokenizer.train uses the default
//    BpeTrainer: vocab 30000, min_frequency 0, no initial alphabet) → expected/hf_trained.json
//    (vocab + merges). BpeTrainerTests trains with the same settings and must get the same result.
// 2. HF loads Distill's own trained file (tests/Distill.Text.Tests/data/trained/tokenizer.json,
//    written by BpeTrainerTests: vocab 600, 3 special tokens, byte alphabet) and encodes the corpus
//    → expected/trained.jsonl, checked by the conformance test like any other tokenizer.
// Run after `dotnet test --filter BpeTrainer` has written the trained file: node make_trainer_expected.mjs
import { Tokenizer, BPE, byteLevelPreTokenizer } from 'tokenizers';
import { encodeCorpus } from './encode_corpus.mjs';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const corpus = readFileSync(path.join(here, 'corpus.jsonl'), 'utf8').trim().split('\n').map(l => JSON.parse(l).text);
const trainFile = path.join(here, 'train.txt');
writeFileSync(trainFile, corpus.join('\n') + '\n');

const hf = new Tokenizer(BPE.empty());
hf.setPreTokenizer(byteLevelPreTokenizer(false, true));
hf.train([trainFile]);
const tmp = path.join(here, '.hf_trained.tmp.json');
hf.save(tmp, false);
const model = JSON.parse(readFileSync(tmp, 'utf8')).model;
writeFileSync(path.join(repo, 'tests/Distill.Text.Tests/expected/hf_trained.json'),
  JSON.stringify({ vocab: model.vocab, merges: model.merges.map(m => (Array.isArray(m) ? m : m.split(' '))) }) + '\n');
console.log(`hf_trained.json: ${Object.keys(model.vocab).length} tokens, ${model.merges.length} merges`);

const trained = path.join(repo, 'tests/Distill.Text.Tests/data/trained/tokenizer.json');
if (!existsSync(trained)) { console.log('no Distill-trained file yet: run the BpeTrainer tests first'); process.exit(0); }
const tok = await Tokenizer.fromFile(trained);
const lines = await encodeCorpus(tok, corpus);
writeFileSync(path.join(repo, 'tests/Distill.Text.Tests/expected/trained.jsonl'), lines.join('\n') + '\n');
console.log(`trained.jsonl: ${lines.length} lines (HF loaded Distill's trained tokenizer.json, vocab ${tok.getVocabSize()})`);
