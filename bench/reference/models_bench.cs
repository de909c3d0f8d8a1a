#:project ../../src/Distill.Models/Distill.Models.csproj
#:property PublishAot=false
// Models benchmark (docs/performance.md, "Models"): SmolLM2-135M shape, random init (transformers' _init_weights).
// Run: dotnet run -c Release bench/reference/models_bench.cs -- [--new 256] [--dir /tmp/smollm2-bench]
// The same work in PyTorch: /usr/bin/python3 bench/reference/models_torch.py (reads the folder this writes).
// Prints one human-readable line per measurement and one "JSON " line at the end.
using System.Diagnostics;
using System.Text.Json;
using Distill.Models;
using Distill.Models.Formats;
using Distill.Models.Generation;
using Distill.Models.Lora;
using Distill.Tensors;
using Distill.Tensors.Autograd;

string dir = Arg("--dir", "/tmp/smollm2-bench");
int newTokens = int.Parse(Arg("--new", "256"));
var results = new Dictionary<string, object>();

// 1. a SmolLM2-135M-shaped folder (written once, f32)
var config = ModelPresets.Get("smollm2-135m") with { TorchDType = "float32" };
if (!File.Exists(Path.Combine(dir, "model.safetensors")))
{
    var sw0 = Stopwatch.StartNew();
    ModelFolder.Init(config, null, dir, seed: 1, SafetensorsDType.F32);
    Console.WriteLine($"init + save: {sw0.Elapsed.TotalSeconds:F2} s");
}

// 2. load time (memory-mapped read + conversion into fp32 parameters)
var sw = Stopwatch.StartNew();
var model = ModelIO.Load(dir);
double loadS = sw.Elapsed.TotalSeconds;
long fp32Bytes = model.Weights.Sum(w => (long)w.Parameter.Length * 4);
Console.WriteLine($"load: {loadS:F2} s, {model.ParameterCount:N0} parameters, fp32 weights {fp32Bytes / 1e6:F1} MB");
results["load_s"] = loadS; results["params"] = model.ParameterCount; results["fp32_weight_mb"] = fp32Bytes / 1e6;

// 3. greedy decode, batch 1, 256 new tokens after a 16-token prompt (EOS ignored: every run makes 256 tokens)
int[] prompt = Enumerable.Range(0, 16).Select(i => (i * 7919) % config.VocabSize).ToArray();
var opts = new SamplingOptions { Temperature = 0, MaxNewTokens = newTokens };
Generator.Generate(model, prompt, opts with { MaxNewTokens = 8 }); // warm-up (JIT)
sw.Restart();
var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
var gen = Generator.Generate(model, prompt, opts).Single();
double decodeS = sw.Elapsed.TotalSeconds, decodeCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
// CPU seconds (all threads) per token: less distorted than wall time when other processes share the cores
Console.WriteLine($"greedy decode: {gen.Ids.Length} tokens in {decodeS:F2} s = {gen.Ids.Length / decodeS:F1} tok/s (prefill included), {decodeCpu / gen.Ids.Length * 1000:F0} CPU-ms/token; first ids {string.Join(",", gen.Ids.Take(8))}");
results["decode_tok_s"] = gen.Ids.Length / decodeS; results["decode_cpu_ms_per_token"] = decodeCpu / gen.Ids.Length * 1000; results["decode_first_ids"] = gen.Ids.Take(16).ToArray();

// (4., a hand-built LoRA DPO step, was removed: the DPO step is measured through the library's Trainer by
//  `distill bench train --objectives dpo`, beside bench/scripts/train_torch.py.)

// 5. NF4 base: bytes per parameter of the linears, whole-model weight memory, logit error vs fp32 on 64 tokens
using var tape = new Tape { NoGrad = true };
var rng = new Rng(3);
int[] probe = Enumerable.Range(0, 64).Select(_ => rng.NextInt(config.VocabSize)).ToArray();
float[] Logits()
{
    tape.Reset();
    return model.Forward(tape, probe, 1).Span.ToArray();
}
var fp32Logits = Logits();
var (nf4Bytes, nf4Params) = LoraModel.QuantizeBase(model);
var nf4Logits = Logits();
long otherBytes = model.Weights.Where(w => !model.Linears.Any(l => l.Quantized is not null && l.Path + ".weight" == w.Name)).Sum(w => (long)w.Parameter.Length * 4);
double maxErr = 0, num = 0, den = 0;
for (int i = 0; i < fp32Logits.Length; i++)
{
    double d = nf4Logits[i] - fp32Logits[i];
    maxErr = Math.Max(maxErr, Math.Abs(d)); num += d * d; den += fp32Logits[i] * (double)fp32Logits[i];
}
Console.WriteLine($"NF4: linears {nf4Bytes / (double)nf4Params:F3} B/param ({nf4Bytes / 1e6:F1} MB for {nf4Params:N0}); model weights {(nf4Bytes + otherBytes) / 1e6:F1} MB vs fp32 {fp32Bytes / 1e6:F1} MB; logits max |Δ| {maxErr:F4}, relative RMS {Math.Sqrt(num / den):F4}");
results["nf4_bytes_per_param"] = nf4Bytes / (double)nf4Params; results["nf4_model_mb"] = (nf4Bytes + otherBytes) / 1e6;
results["nf4_logit_max_abs_err"] = maxErr; results["nf4_logit_rel_rms"] = Math.Sqrt(num / den);
results["threads"] = Environment.ProcessorCount;
Console.WriteLine("JSON " + JsonSerializer.Serialize(results));
model.Dispose();

string Arg(string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
