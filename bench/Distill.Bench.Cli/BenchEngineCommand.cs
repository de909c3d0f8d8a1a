using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Bench;
using Distill.Cli;
using Distill.Tensors.Kernels;
using Distill.Tensors.Threading;
using Spectre.Console;

namespace Distill.Bench.Cli.Commands;

/// <summary>
/// `distill bench engine`: GEMM GFLOPS (managed, and the native BLAS when one loads) on square and
/// transformer shapes, then one training step per bench config through the library Trainer (EngineTrainBench), with the machine and
/// thread count. Figures and how they compare with OpenBLAS and PyTorch: docs/performance.md.
/// </summary>
sealed class BenchEngineCommand : IVerb
{
    public string? Group => "bench";

    public Command Build()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of tables" };
        var config = new Option<string?>("--config") { Description = $"Only this training config ({string.Join(", ", EngineTrainBench.Configs)})" };
        var threads = BenchOptions.Threads();
        var gemmOnly = new Option<bool>("--gemm-only") { Description = "Skip the training-step benchmarks" };
        var trainOnly = new Option<bool>("--train-only") { Description = "Skip the GEMM benchmarks" };
        var layout = new Option<string>("--layout") { Description = "GEMM layout: NT (C = A·Bᵀ, as y = x Wᵀ), NN (dX = dY·W), TN (dW = dYᵀ·X), both (NT, NN) or all", DefaultValueFactory = _ => "NT" };
        var shape = new Option<string?>("--shape") { Description = "Only this GEMM shape, M×K×N (e.g. 512x384x1152)" };
        var isa = new Option<string?>("--isa") { Description = "Managed GEMM kernels to measure, comma-separated (avx512, avx2, scalar; default: the best this CPU runs)" };
        var attention = new Option<bool>("--attention") { Description = "Also measure the batched attention GEMMs (48 heads of T = 128, head dim 64)" };
        var samples = new Option<int>("--samples") { Description = "GEMM samples per backend (interleaved; the median is reported)", DefaultValueFactory = _ => 5 };
        var sampleMs = new Option<int>("--sample-ms") { Description = "Minimum length of one GEMM sample, ms (many short samples: more chances of a quiet moment on a shared machine)", DefaultValueFactory = _ => 250 };
        var steps = new Option<int>("--steps") { Description = "Timed training steps per config (after one warm-up step)", DefaultValueFactory = _ => 3 };
        var command = new Command("engine",
            "Measure GEMM GFLOPS and training-step time of the tensor engine.\nExample: distill bench engine --threads 2 --json");
        foreach (var o in new Option[] { json, config, threads, gemmOnly, trainOnly, layout, shape, isa, samples, sampleMs, attention, steps }) command.Options.Add(o);
        command.SetAction(pr =>
        {
            var layoutValue = pr.GetValue(layout)!.ToUpperInvariant();
            string[] layouts = layoutValue switch
            {
                "NT" => ["NT"],
                "NN" => ["NN"],
                "TN" => ["TN"],
                "BOTH" => ["NT", "NN"],
                "ALL" => ["NT", "NN", "TN"],
                _ => [],
            };
            if (layouts.Length == 0) throw new BadInputException($"--layout must be NT, NN, TN, both or all, not '{pr.GetValue(layout)}'");
            var shapes = GemmBench.Shapes;
            if (pr.GetValue(shape) is { } shapeText)
            {
                var parts = shapeText.Split('x', '×');
                if (parts.Length != 3 || !int.TryParse(parts[0], out int sm) || !int.TryParse(parts[1], out int sk) || !int.TryParse(parts[2], out int sn) || sm < 1 || sk < 1 || sn < 1)
                    throw new BadInputException($"--shape must be M×K×N with positive integers (e.g. 512x384x1152), not '{shapeText}'");
                shapes = [(sm, sk, sn)];
            }
            var runs = new List<(string Backend, GemmIsa? Isa)>();
            foreach (var name in (pr.GetValue(isa) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                GemmIsa? kernel = GemmIsaSelect.Parse(name);
                if (kernel is null) throw new BadInputException($"--isa: '{name}' is not avx512, avx2 or scalar");
                if (!GemmIsaSelect.IsSupported(kernel.Value)) throw new BadInputException($"--isa: this CPU cannot run the {name} kernel (best here: {GemmIsaSelect.Best})");
                runs.Add(("managed", kernel));
            }
            if (runs.Count == 0) runs.Add(("managed", null));
            if (NativeBlas.IsAvailable) runs.Add(("blas", null));
            int threadCount = pr.GetValue(threads);
            if (threadCount < 1) throw new BadInputException($"--threads must be at least 1, not {threadCount}");
            int sampleCount = pr.GetValue(samples);
            if (sampleCount < 1) throw new BadInputException($"--samples must be at least 1, not {sampleCount}");
            double sampleSeconds = pr.GetValue(sampleMs) / 1000.0;
            if (sampleSeconds < 0.01) throw new BadInputException($"--sample-ms must be at least 10, not {pr.GetValue(sampleMs)}");
            int stepCount = pr.GetValue(steps);
            if (stepCount < 1) throw new BadInputException($"--steps must be at least 1, not {stepCount}");
            var configName = pr.GetValue(config);
            if (configName is not null && !EngineTrainBench.Configs.Contains(configName))
                throw new BadInputException($"unknown --config '{configName}' (known: {string.Join(", ", EngineTrainBench.Configs)})");
            Workers.Count = threadCount;
            bool asJson = pr.GetValue(json);

            var gemm = new List<GemmResult>();
            if (!pr.GetValue(trainOnly))
                foreach (var (m, k, n) in shapes)
                    foreach (var l in layouts)
                        foreach (var r in GemmBench.MeasureInterleaved(m, k, n, l, runs, sampleCount, sampleSeconds))
                        {
                            Console.Error.WriteLine($"gemm {m}×{k}×{n} {l} {r.Backend}{(r.Isa is null ? "" : "/" + r.Isa)}: {r.Gflops:F1} GFLOPS (best {r.BestGflops:F1})");
                            gemm.Add(r);
                        }
            if (!pr.GetValue(trainOnly) && pr.GetValue(attention))
                foreach (var (batch, m, k, n, l) in GemmBench.AttentionShapes)
                    foreach (var r in GemmBench.MeasureInterleaved(m, k, n, l, runs, sampleCount, sampleSeconds, batch))
                    {
                        Console.Error.WriteLine($"gemm {batch}×[{m}×{k}×{n}] {l} {r.Backend}{(r.Isa is null ? "" : "/" + r.Isa)}: {r.Gflops:F1} GFLOPS (best {r.BestGflops:F1})");
                        gemm.Add(r);
                    }

            var train = new List<(string Config, TrainResult? Result, string? Reason)>();
            if (!pr.GetValue(gemmOnly))
            {
                var progress = new Progress<string>(s => Console.Error.WriteLine(s));
                foreach (var name in configName is null ? EngineTrainBench.Configs : [configName])
                {
                    try { train.Add((name, EngineTrainBench.Measure(name, 1, stepCount, progress), null)); }
                    catch (NotImplementedException e) { train.Add((name, null, "not available: " + e.Message)); }
                    Console.Error.WriteLine($"train {name}: {(train[^1].Result is { } t ? $"{t.MsPerStep:F0} ms/step" : train[^1].Reason)}");
                }
            }

            if (asJson) Console.WriteLine(ToJson(gemm, train, threadCount));
            else Render(gemm, train, threadCount);
            return 0;
        });
        return command;
    }

    static string ToJson(List<GemmResult> gemm, List<(string Config, TrainResult? Result, string? Reason)> train, int threads)
    {
        var root = new JsonObject
        {
            ["machine"] = Machine.Describe(),
            ["threads"] = threads,
            ["blas"] = NativeBlas.Description,
            ["gemm"] = new JsonArray(gemm.Select(g => (JsonNode)new JsonObject
            {
                ["m"] = g.M, ["k"] = g.K, ["n"] = g.N, ["backend"] = g.Backend, ["gflops"] = Math.Round(g.Gflops, 2), ["gflops_best"] = Math.Round(g.BestGflops, 2), ["layout"] = g.Layout, ["isa"] = g.Isa, ["batch"] = g.Batch,
            }).ToArray()),
            ["train"] = new JsonArray(train.Select(t => (JsonNode)(t.Result is { } r
                ? new JsonObject
                {
                    ["config"] = t.Config, ["ms_per_step"] = Math.Round(r.MsPerStep, 1), ["tokens_per_s"] = Math.Round(r.TokensPerS, 1),
                    ["peak_rss_mb"] = double.IsFinite(r.PeakRssMb) ? Math.Round(r.PeakRssMb, 1) : null,
                }
                : new JsonObject { ["config"] = t.Config, ["available"] = false, ["reason"] = t.Reason })).ToArray()),
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
    }

    static void Render(List<GemmResult> gemm, List<(string Config, TrainResult? Result, string? Reason)> train, int threads)
    {
        AnsiConsole.MarkupLine($"[bold]machine[/] {Markup.Escape(Machine.Describe())}");
        AnsiConsole.MarkupLine($"[bold]threads[/] {threads}   [bold]native BLAS[/] {Markup.Escape(NativeBlas.Description ?? "none")}");
        if (gemm.Count > 0)
        {
            var table = new Table().AddColumns("M×K×N", "layout", "backend", "GFLOPS");
            foreach (var g in gemm)
                table.AddRow(Markup.Escape(g.Batch > 1 ? $"{g.Batch}×[{g.M}×{g.K}×{g.N}]" : $"{g.M}×{g.K}×{g.N}"), g.Layout, g.Isa is null ? g.Backend : $"{g.Backend} ({g.Isa})", g.Gflops.ToString("F1"));
            AnsiConsole.Write(table);
        }
        if (train.Count > 0)
        {
            var table = new Table().AddColumns("config", "ms/step", "tokens/s", "peak RSS MB");
            foreach (var (config, r, reason) in train)
                if (r is null) table.AddRow(config, Markup.Escape(reason ?? "not available"), "", "");
                else table.AddRow(config, r.MsPerStep.ToString("F0"), r.TokensPerS.ToString("F0"), r.PeakRssMb.ToString("F0"));
            AnsiConsole.Write(table);
        }
    }
}
