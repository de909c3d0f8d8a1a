// Shared by make_expected.mjs and make_trainer_expected.mjs: one JSONL line per (corpus string,
// add_special_tokens) with ids, tokens, flattened offsets (code points) and decode (skip false/true).
export async function encodeCorpus(tok, corpus) {
  const lines = [];
  for (let i = 0; i < corpus.length; i++) {
    for (const special of [false, true]) {
      const e = await tok.encode(corpus[i], null, { addSpecialTokens: special });
      const ids = Array.from(e.getIds());
      lines.push(JSON.stringify({
        i, special, ids, tokens: e.getTokens(), offsets: e.getOffsets().flat(),
        decode: await tok.decode(ids, false), decode_skip: await tok.decode(ids, true),
      }));
    }
  }
  return lines;
}
