// Single-thread encode throughput of Hugging Face tokenizers (Rust, via the npm binding) and
// transformers.js' tokenizers (the @lenml/tokenizers fork), on a corpus from make_bench_corpus.mjs. Run with one Rust thread:
//   RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false node bench_reference.mjs CORPUS.jsonl TOKENIZER.json [rust|tjs]
import { Tokenizer } from 'tokenizers';
import { readFileSync } from 'node:fs';
const [corpusPath, tokPath, which = 'rust'] = process.argv.slice(2);
const texts = readFileSync(corpusPath, 'utf8').trim().split('\n').map(l => JSON.parse(l).text);
const bytes = texts.reduce((a, t) => a + Buffer.byteLength(t, 'utf8'), 0);
let encode;
if (which === 'rust') {
  const tok = await Tokenizer.fromFile(tokPath);
  encode = async batch => (await tok.encodeBatch(batch, { addSpecialTokens: false })).reduce((a, e) => a + e.getIds().length, 0);
} else {
  // transformers.js' tokenizers: @huggingface/transformers cannot be installed offline here (its
  // onnxruntime-node and sharp install scripts download from GitHub), so this uses @lenml/tokenizers,
  // the no-dependency fork of transformers.js' tokenizers.js that the @lenml/tokenizer-* packages ship.
  const { TokenizerLoader } = await import('@lenml/tokenizers');
  const json = JSON.parse(readFileSync(tokPath, 'utf8'));
  let config = {};
  try { config = JSON.parse(readFileSync(tokPath.replace(/tokenizer\.json$/, 'tokenizer_config.json'), 'utf8')); } catch { }
  const tok = TokenizerLoader.fromPreTrained({ tokenizerJSON: json, tokenizerConfig: config });
  encode = async batch => batch.reduce((a, t) => a + tok.encode(t, { add_special_tokens: false }).length, 0);
}
const t0 = process.hrtime.bigint();
let tokens = 0;
for (let i = 0; i < texts.length; i += 256) tokens += await encode(texts.slice(i, i + 256));
const s = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(JSON.stringify({ impl: which, tokenizer: tokPath, mb: bytes / 1e6, seconds: s, mb_per_s: bytes / 1e6 / s, tokens }));
