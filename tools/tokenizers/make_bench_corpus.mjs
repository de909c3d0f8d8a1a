// Writes a deterministic mixed corpus for `distill bench tokenizers` and bench_reference.mjs:
// JSONL {"text": ...} lines of code (HumanEval/HumanEval+/MBPP from the repo's data/benchmarks), prose, CJK, emoji
// and the conformance strings, recombined with a seeded PRNG until the target size.
// Usage: node make_bench_corpus.mjs OUT.jsonl [MEGABYTES=10]     (do not commit the output)
import { readFileSync, createWriteStream } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const benchmarks = path.resolve(here, '../../data/benchmarks');
const [out, mbArg] = process.argv.slice(2);
if (!out) { console.error('usage: node make_bench_corpus.mjs OUT.jsonl [MEGABYTES]'); process.exit(2); }
const target = Number(mbArg ?? 10) * 1e6;
const docs = [];
for (const f of ['humaneval/HumanEval.jsonl.gz', 'humanevalplus/HumanEvalPlus.jsonl.gz']) {
  for (const l of gunzipSync(readFileSync(path.join(benchmarks, f))).toString('utf8').split('\n')) {
    if (!l.trim()) continue;
    const r = JSON.parse(l);
    docs.push(r.prompt + (r.canonical_solution ?? ''));
  }
}
const corpus = readFileSync(path.join(here, 'corpus.jsonl'), 'utf8').trim().split('\n').map(l => JSON.parse(l).text);
const prose = corpus.filter(s => s.length > 20);
const cjk = ['日本語のテキストです。東京は大きな都市です。', '中文分词测试：你好，世界！今天天气很好。', '한국어 문장입니다. 서울은 큰 도시입니다.', 'ภาษาไทยไม่มีช่องว่างระหว่างคำ'];
const emoji = ['😀', '👨‍👩‍👧‍👦', '🇫🇷', '❤️', '👩🏽‍💻', '🚀', '✅'];
let seed = 12345;
const rand = n => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
const w = createWriteStream(out);
let size = 0, lines = 0;
while (size < target) {
  const kind = rand(4);
  let text;
  if (kind === 0) text = docs[rand(docs.length)];
  else if (kind === 1) text = Array.from({ length: 5 + rand(20) }, () => prose[rand(prose.length)]).join(' ');
  else if (kind === 2) text = Array.from({ length: 3 + rand(10) }, () => cjk[rand(cjk.length)] + emoji[rand(emoji.length)]).join('');
  else text = docs[rand(docs.length)].replace(/\d+/g, () => String(rand(100000))) + ' ' + emoji[rand(emoji.length)];
  const line = JSON.stringify({ text }) + '\n';
  w.write(line);
  size += Buffer.byteLength(text, 'utf8');
  lines++;
}
w.end();
console.log(`${out}: ${lines} lines, ${(size / 1e6).toFixed(1)} MB of text`);
