using System.CommandLine;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distill.Cli;

namespace Distill.Bench.Cli.Commands;

/// <summary>
/// `distill bench serve`: starts `distill serve` as a child process on a free loopback port and
/// sends it N chat requests at concurrency C; reports throughput, p50/p99 latency, errors and the
/// server's resident memory after each quarter of the requests (to show it does not grow).
/// </summary>
sealed class BenchServeCommand : IVerb
{
    public string? Group => "bench";

    public Command Build()
    {
        var requests = new Option<int>("--requests") { Description = "Requests to send", DefaultValueFactory = _ => 1000 };
        var concurrency = new Option<int>("--concurrency") { Description = "Requests in flight at once", DefaultValueFactory = _ => 32 };
        var model = new Option<string>("--model") { Description = "What the server serves: 'fake' or a model reference", DefaultValueFactory = _ => "fake" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object" };
        var command = new Command("serve", "Load-test `distill serve` over loopback.\nExample: distill bench serve --requests 1000 --concurrency 32")
        { requests, concurrency, model, json };
        command.SetAction(async (pr, ct) =>
        {
            int n = pr.GetValue(requests), c = pr.GetValue(concurrency);
            if (n < 4 || c < 1) throw new BadInputException($"need --requests ≥ 4 and --concurrency ≥ 1, not {n} and {c}");
            var m = pr.GetValue(model)!;
            var serveArgs = m == "fake" ? new[] { "serve", "--fake", "--port", "0", "--concurrency", "4" } : ["serve", "--model", m, "--port", "0"];
            var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add(typeof(VerbHost).Assembly.Location); // distill.dll, copied beside this program
            foreach (var a in serveArgs) psi.ArgumentList.Add(a);
            using var server = Process.Start(psi)!;
            try
            {
                var baseUrl = await ReadAddress(server, ct);
                using var http = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(60) };
                var latencies = new double[n];
                var rss = new List<JsonObject>();
                int next = -1, errors = 0, done = 0;
                var total = Stopwatch.StartNew();
                var gate = new object();
                async Task Worker()
                {
                    int i;
                    while ((i = Interlocked.Increment(ref next)) < n)
                    {
                        var body = $$"""{"model":"bench","max_tokens":16,"messages":[{"role":"user","content":"request {{i}} asks for a short answer about load"}]}""";
                        var sw = Stopwatch.StartNew();
                        try
                        {
                            using var res = await http.PostAsync("v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"), ct);
                            var text = await res.Content.ReadAsStringAsync(ct);
                            if (!res.IsSuccessStatusCode || !text.Contains("\"choices\"")) Interlocked.Increment(ref errors);
                        }
                        catch (HttpRequestException) { Interlocked.Increment(ref errors); }
                        latencies[i] = sw.Elapsed.TotalMilliseconds;
                        int d = Interlocked.Increment(ref done);
                        if (d % (n / 4) == 0) lock (gate) rss.Add(new JsonObject { ["after_requests"] = d, ["rss_mb"] = ReadStatusMb(server.Id, "VmRSS") });
                    }
                }
                await Task.WhenAll(Enumerable.Range(0, c).Select(_ => Task.Run(Worker, ct)));
                double seconds = total.Elapsed.TotalSeconds;
                Array.Sort(latencies);
                var result = new JsonObject
                {
                    ["model"] = m, ["requests"] = n, ["concurrency"] = c, ["errors"] = errors,
                    ["requests_per_s"] = Math.Round(n / seconds, 1),
                    ["p50_ms"] = Math.Round(latencies[n / 2], 2), ["p99_ms"] = Math.Round(latencies[(int)(n * 0.99) - 1], 2),
                    ["server_rss_mb"] = new JsonArray([.. rss.OrderBy(r => (int)r["after_requests"]!)]),
                    ["server_peak_rss_mb"] = ReadStatusMb(server.Id, "VmHWM"),
                };
                if (pr.GetValue(json)) Console.WriteLine(result.ToJsonString());
                else
                {
                    Console.WriteLine($"{n} requests, concurrency {c}, model {m}: {result["requests_per_s"]} req/s, p50 {result["p50_ms"]} ms, p99 {result["p99_ms"]} ms, errors {errors}");
                    foreach (var r in result["server_rss_mb"]!.AsArray()) Console.WriteLine($"  server RSS after {r!["after_requests"]} requests: {r["rss_mb"]} MB");
                    Console.WriteLine($"  server peak RSS: {result["server_peak_rss_mb"]} MB");
                }
                return errors == 0 ? 0 : 1;
            }
            finally { if (!server.HasExited) server.Kill(entireProcessTree: true); }
        });
        return command;
    }

    static async Task<Uri> ReadAddress(Process server, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        while (await server.StandardError.ReadLineAsync(timeout.Token) is { } line)
        {
            int at = line.IndexOf(" on http://", StringComparison.Ordinal);
            if (at >= 0) return new Uri(line[(at + 4)..].Split(' ')[0].Replace("/v1", "/"));
        }
        throw new InvalidOperationException("distill serve exited before it printed its address");
    }

    static double ReadStatusMb(int pid, string field)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return Math.Round(long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0, 1);
        return double.NaN;
    }
}
