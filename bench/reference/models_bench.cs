#:project ../../src/Distill.Models/Distill.Models.csproj
#:property PublishAot=false
// Models benchmark (docs/performance.md, "Models"): SmolLM2-135M shape, random init (transformers' _init_weights).
// Run: dotnet run -c Release bench/reference/models_bench.cs -- [--steps 3] [--new 256] [--dir /tmp/smollm2-bench]
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
using Distill.Tensors.Autograd.Ops;
using Distill.Tensors.Optim;

string dir = Arg("--dir", "/tmp/smollm2-bench");
int steps = int.Parse(Arg("--steps", "3")), newTokens = int.Parse(Arg("--new", "256"));
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

// 4. one LoRA DPO step: r 16 on q,k,v,o; 256-token prompt, 128-token chosen and rejected; policy forward+backward
//    on both (one batch of 2), reference forward on both (adapters off, no tape), DPO sigmoid loss (β 0.1), AdamW.
var lora = new LoraConfig { R = 16, LoraAlpha = 16, TargetModules = ["q_proj", "k_proj", "v_proj", "o_proj"] };
var branches = LoraModel.Apply(model, lora, seed: 2);
var rng = new Rng(3);
foreach (var b in branches) rng.FillNormal(b.B.Span, 0, 0.01f); // a trained-looking adapter: policy ≠ reference
var optimizer = new AdamW(branches.SelectMany(b => new[] { b.A, b.B }), lr: 1e-4f, weightDecay: 0f);
int P = 256, C = 128, T = P + C;
var ids = new int[2 * T];
for (int i = 0; i < ids.Length; i++) ids[i] = rng.NextInt(config.VocabSize);
int[] TargetsFor(int seq)
{
    // next-token targets on completion positions of sequence `seq` only; everything else ignored (−100)
    var t = Enumerable.Repeat(-100, 2 * T).ToArray();
    for (int p = P - 1; p < T - 1; p++) t[seq * T + p] = ids[seq * T + p + 1];
    return t;
}
int[] chosenTargets = TargetsFor(0), rejectedTargets = TargetsFor(1);
using var tape = new Tape();
var stepTimes = new List<double>();
var stepCpu = new List<double>();
double lastLoss = 0;
for (int s = 0; s < steps + 1; s++)
{
    sw.Restart();
    var c0 = Process.GetCurrentProcess().TotalProcessorTime;
    // reference: the base model (adapters off), no gradient
    tape.Reset(); tape.NoGrad = true;
    LoraModel.SetEnabled(model, false);
    var refLogits = model.Forward(tape, ids, 2);
    float refC = CrossEntropy.Forward(tape, refLogits, chosenTargets)[0], refR = CrossEntropy.Forward(tape, refLogits, rejectedTargets)[0];
    LoraModel.SetEnabled(model, true);
    // policy: forward and backward on both
    tape.Reset(); tape.NoGrad = false;
    var logits = model.Forward(tape, ids, 2);
    var nllC = CrossEntropy.Forward(tape, logits, chosenTargets);    // mean −log p over the 128 chosen tokens
    var nllR = CrossEntropy.Forward(tape, logits, rejectedTargets);
    // DPO (Rafailov et al. 2023, Eq. 7): Δ = (πc − rc) − (πr − rr), log-probs summed over the completion
    double piC = -C * nllC[0], piR = -C * nllR[0], rC = -C * refC, rR = -C * refR, beta = 0.1;
    double delta = (piC - rC) - (piR - rR);
    lastLoss = Math.Log(1 + Math.Exp(-beta * delta));
    double sig = 1 / (1 + Math.Exp(beta * delta));           // σ(−βΔ)
    // dL/dπc = −β σ(−βΔ), dL/dπr = +β σ(−βΔ); π = −C · nll → dL/dnll = −C · dL/dπ
    var total = Add.Forward(tape, Scale.Forward(tape, nllC, (float)(C * beta * sig)), Scale.Forward(tape, nllR, (float)(-C * beta * sig)));
    tape.Backward(total);
    optimizer.Step();
    optimizer.ZeroGrad();
    if (s > 0) { stepTimes.Add(sw.Elapsed.TotalSeconds); stepCpu.Add((Process.GetCurrentProcess().TotalProcessorTime - c0).TotalSeconds); } // step 0 is warm-up
}
stepTimes.Sort();
Console.WriteLine($"LoRA DPO step (r 16 q,k,v,o; 2 × {T} tokens): median {stepTimes[stepTimes.Count / 2]:F2} s over {stepTimes.Count} (min {stepTimes[0]:F2}), {stepCpu.Min():F1} CPU-s; loss {lastLoss:F4}");
results["dpo_step_s"] = stepTimes[stepTimes.Count / 2]; results["dpo_step_min_s"] = stepTimes[0]; results["dpo_step_cpu_s"] = stepCpu.Min();

// 5. NF4 base: bytes per parameter of the linears, whole-model weight memory, logit error vs fp32 on 64 tokens
int[] probe = ids[..64];
float[] Logits()
{
    tape.Reset(); tape.NoGrad = true;
    LoraModel.SetEnabled(model, false);
    var l = model.Forward(tape, probe, 1).Span.ToArray();
    LoraModel.SetEnabled(model, true);
    return l;
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
