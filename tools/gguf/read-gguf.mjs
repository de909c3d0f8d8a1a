// Reads a GGUF file with Hugging Face's @huggingface/gguf (an implementation independent of Distill's) and prints
// its header, every metadata key (value and GGUF type) and the tensor infos as JSON on stdout.
// Usage: node read-gguf.mjs FILE.gguf   (Distill.Export.Tests compares the output with what Distill wrote)
import { gguf } from "@huggingface/gguf";
import path from "node:path";

const file = process.argv[2];
if (!file) { console.error("usage: node read-gguf.mjs FILE.gguf"); process.exit(2); }
const { metadata, typedMetadata, tensorInfos, tensorDataOffset } = await gguf(path.resolve(file), { allowLocalFile: true, typedMetadata: true });
const out = { version: metadata.version, tensor_count: metadata.tensor_count, kv_count: metadata.kv_count, tensor_data_offset: tensorDataOffset, metadata: {}, tensors: [] };
for (const [key, v] of Object.entries(typedMetadata)) {
  if (key === "version" || key === "tensor_count" || key === "kv_count") continue;
  out.metadata[key] = { type: v.type, subType: v.subType ?? null, value: v.value };
}
for (const t of tensorInfos) out.tensors.push({ name: t.name, shape: t.shape, dtype: t.dtype, offset: t.offset });
process.stdout.write(JSON.stringify(out, (_, v) => (typeof v === "bigint" ? v.toString() : v)));
