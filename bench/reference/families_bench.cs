#:project ../../src/Distill.Models/Distill.Models.csproj
#:property PublishAot=false
// Issue 18 benchmark (docs/performance.md, "Models: Qwen3 and Gemma 3"): a real-shape preset (qwen3-0.6b or gemma-3-270m),
// random init (transformers' _init_weights), saved f32. The same work in PyTorch: /usr/bin/python3 bench/reference/families_torch.py.
// Run: dotnet run -c Release bench/reference/families_bench.cs -- --preset qwen3-0.6b [--steps 2] [--new 32] [--dir /tmp/qwen3-bench]
//   greedy : batch 1, 16-token prompt, --new tokens (EOS ignored), KV cache
//   lora   : one LoRA training step, r 16 (α 16) on q,k,v,o,gate,up,down; one sequence of 256 tokens; forward, next-token
//            cross-entropy over every position, backward, AdamW over the adapters
// Prints one line per measurement and a "JSON " line at the end.
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

string preset = Arg("--preset", "qwen3-0.6b");
string dir = Arg("--dir", $"/tmp/{preset}-bench");
int steps = int.Parse(Arg("--steps", "2")), newTokens = int.Parse(Arg("--new", "32")), T = int.Parse(Arg("--len", "256"));
var results = new Dictionary<string, object> { ["preset"] = preset };

var config = ModelPresets.Get(preset) with { TorchDType = "float32" };
if (!File.Exists(Path.Combine(dir, "model.safetensors")))
{
    var sw0 = Stopwatch.StartNew();
    ModelFolder.Init(config, null, dir, seed: 1, SafetensorsDType.F32);
    Console.WriteLine($"init + save: {sw0.Elapsed.TotalSeconds:F2} s");
}
var sw = Stopwatch.StartNew();
var model = ModelIO.Load(dir);
Console.WriteLine($"load: {sw.Elapsed.TotalSeconds:F2} s, {model.ParameterCount:N0} parameters");
results["load_s"] = sw.Elapsed.TotalSeconds; results["params"] = model.ParameterCount;

int[] prompt = Enumerable.Range(0, 16).Select(i => (i * 7919) % config.VocabSize).ToArray();
var opts = new SamplingOptions { Temperature = 0, MaxNewTokens = newTokens };
Generator.Generate(model, prompt, opts with { MaxNewTokens = 4 }); // warm-up (JIT)
sw.Restart();
var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
var gen = Generator.Generate(model, prompt, opts).Single();
double decodeS = sw.Elapsed.TotalSeconds, decodeCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
Console.WriteLine($"greedy decode: {gen.Ids.Length} tokens in {decodeS:F2} s = {gen.Ids.Length / decodeS:F2} tok/s (prefill included), {decodeCpu / gen.Ids.Length * 1000:F0} CPU-ms/token; first ids {string.Join(",", gen.Ids.Take(8))}");
results["decode_tok_s"] = gen.Ids.Length / decodeS; results["decode_cpu_ms_per_token"] = decodeCpu / gen.Ids.Length * 1000; results["decode_first_ids"] = gen.Ids.Take(16).ToArray();

var lora = new LoraConfig { R = 16, LoraAlpha = 16, TargetModules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] };
var branches = LoraModel.Apply(model, lora, seed: 2);
var optimizer = new AdamW(branches.SelectMany(b => new[] { b.A, b.B }), lr: 1e-4f, weightDecay: 0f);
var rng = new Rng(3);
var ids = new int[T];
for (int i = 0; i < T; i++) ids[i] = rng.NextInt(config.VocabSize);
var targets = ids.Skip(1).Append(-100).ToArray();
using var tape = new Tape();
var times = new List<double>();
var cpu = new List<double>();
double loss = 0;
for (int s = 0; s < steps + 1; s++)
{
    sw.Restart();
    var c0 = Process.GetCurrentProcess().TotalProcessorTime;
    tape.Reset();
    var l = CrossEntropy.Forward(tape, model.Forward(tape, ids, 1), targets, overwriteLogits: true);
    loss = l[0];
    tape.Backward(l);
    optimizer.Step();
    optimizer.ZeroGrad();
    if (s > 0) { times.Add(sw.Elapsed.TotalSeconds); cpu.Add((Process.GetCurrentProcess().TotalProcessorTime - c0).TotalSeconds); } // step 0 is warm-up
}
times.Sort();
Console.WriteLine($"LoRA step (r 16 on 7 projections; 1 × {T} tokens): median {times[times.Count / 2]:F2} s over {times.Count} (min {times[0]:F2}), {cpu.Min():F1} CPU-s; loss {loss:F4}");
results["lora_step_s"] = times[times.Count / 2]; results["lora_step_min_s"] = times[0]; results["lora_step_cpu_s"] = cpu.Min();
Console.WriteLine("JSON " + JsonSerializer.Serialize(results));
model.Dispose();

string Arg(string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
