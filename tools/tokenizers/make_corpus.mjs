// Writes corpus.jsonl: the conformance strings (one {"text": ...} per line), deterministic.
// Base strings cover the cases that break tokenizers; variations (leading/trailing space,
// upper case, pairs joined) multiply them to several hundred lines.
import { writeFileSync } from 'node:fs';
const base = [
  '', ' ', '  ', '\t', '\n', '\r\n', ' \n ', 'a', 'A', 'hello world', 'Hello World!',
  'hello   world', 'hello\tworld', 'line1\nline2', 'line1\r\nline2\r\n', 'trailing   ', '   leading',
  ' \t \n\n  \r\n x', 'tabs\t\t\tand  spaces    end', 'a  b   c    d     e',
  "it's I'm you're we've they'll he'd can't", "IT'S I'M YOU'RE WE'VE THEY'LL HE'D CAN'T",
  "It'S i'M yoU'Re", "'s 'S 'll 'LL 'd 'D 've 'VE 're 'RE 'm 'M 't 'T", "don’t curly’s",
  '0', '7', '42', '123', '1234', '12345678901234567890', '3.14159', '-0.5e-10', '1,000,000', '2026-11-22T11:02:00Z',
  'v1.2.3-beta+build.7', '0x1F 0b1010 0o777', 'phone: +1 (555) 123-4567',
  '😀', '😀😀😀', 'I ❤️ you', '👨‍👩‍👧‍👦 family', '👩🏽‍💻 coder', '🏳️‍🌈', '🇫🇷🇯🇵🇺🇸', '✅ done ✔ ✗',
  '日本語のテキストです。', '中文分词测试：你好，世界！', '한국어 문장입니다.', 'ภาษาไทยไม่มีช่องว่าง', 'العربية من اليمين إلى اليسار',
  'עברית', 'Ελληνικά κείμενα', 'Русский текст, ЁЖИК!', 'हिन्दी पाठ', 'Tiếng Việt có dấu',
  'cafe\u0301', 'caf\u00e9', 'e\u0301\u0302\u0303', 'n\u0303o\u0308', 'A\u030a\u0301', '\u1100\u1161\u11a8',
  'ﬁ ligature ﬀ', 'Ⅻ ① ²³', '𝐀𝐁𝐂 math bold', '𠀀𠀁 ext-b', '\u00a0nbsp\u00a0', 'em\u2003space', 'zero\u200bwidth', 'ideographic\u3000space',
  '<|endoftext|>', 'a<|endoftext|>b', ' <|endoftext|> ', '<|endoftext|><|endoftext|>', '<s>', '</s>', '<unk>', '<s>hello</s>', ' <s> x </s> ',
  '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n', '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>',
  '[INST] what? [/INST]', '<|endoftext', 'endoftext|>', '<<s>>', '<think>\nreason\n</think>',
  'def f(x):\n    return x * 2\n', 'for (int i = 0; i < n; ++i) { sum += a[i]; }', 'const x = () => { return `t${y}`; };',
  'fn main() {\n\tprintln!("{}", 1);\n}', 'SELECT * FROM t WHERE id = 3;', '#include <stdio.h>\nint main(void){return 0;}',
  'if x == None:\n        pass\n\n\n', '    indented\n        more\n', '{"key": [1, 2, {"a": null}]}', '<div class="x">&amp;</div>',
  'https://example.com/path?q=1&r=two#frag', 'user@example.com', '$HOME/.config && echo "ok" | grep -v x',
  '!!!???...', '---===+++', '(((nested)))', '...', '—–-', '«quotes» “double” ‘single’', '#hashtag @mention',
  'MixedCASEWordsAndCamelCase snake_case_name kebab-case-name', 'HTTPServerError XMLHttpRequest', 'ALLCAPS', 'lowercase',
  'The quick brown fox jumps over the lazy dog.', 'Lorem ipsum dolor sit amet, consectetur adipiscing elit.',
  'a\u0000b', 'bell\u0007char', 'esc\u001b[0m', '\ufeffbom', '\u{10FFFD} private', '\ue000 pua',
];
const out = new Set();
for (const s of base) out.add(s);
for (const s of base) { out.add(' ' + s); out.add(s + ' '); out.add(s.toUpperCase()); out.add(s + '\n'); }
for (let i = 0; i + 1 < base.length; i += 3) out.add(base[i] + base[i + 1] + ' ' + base[(i * 7) % base.length]);
out.add(base.join(' '));
writeFileSync(new URL('./corpus.jsonl', import.meta.url), [...out].map(s => JSON.stringify({ text: s })).join('\n') + '\n');
console.log(`corpus.jsonl: ${out.size} strings`);
