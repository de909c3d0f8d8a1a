using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;

namespace Distill.Evaluation.Sandbox;

/// <summary>What to test: the untrusted program, trusted code the tests rely on, and the tests.</summary>
/// <param name="Solution">The candidate's whole program (for HumanEval: prompt + completion).</param>
/// <param name="Prelude">Trusted definitions the tests use (HumanEval: the prompt, which defines helpers
/// such as <c>poly</c>; MBPP: test_setup_code and test_imports). Runs in the test process only.</param>
/// <param name="Tests">MBPP-style top-level asserts, or HumanEval's <c>def check(candidate)</c>.</param>
/// <param name="EntryPoint">Function passed to <c>check</c> when the tests define one; always proxied to the candidate
/// (even when it shadows a builtin, as MBPP's <c>def sum</c>). Optional for top-level asserts.</param>
public sealed record TestJob(string Solution, string Prelude, string Tests, string? EntryPoint);

/// <summary>
/// Runs tests against a candidate with the two in SEPARATE sandboxes (two forked interpreters, two
/// pid, mount, ipc and user namespaces or uids): the candidate's worker defines the candidate; the test runner runs the
/// tests in a pristine interpreter where each function of the candidate is a proxy that forwards
/// the call, through this class, to the worker and gets back plain data (Harness/wire.py). The
/// verdict is decided here from the runner's last message and the worker's fate; nothing the
/// candidate prints, returns or patches can reach the runner's builtins or the verdict.
/// Design and limits: docs/evaluation.md.
/// </summary>
public static class TestHarness
{
    public static async Task<SandboxResult> RunAsync(TestJob job, SandboxOptions options)
    {
        options.Validate();
        var clock = Stopwatch.StartNew();
        var deadline = clock.Elapsed + TimeSpan.FromSeconds(options.TimeoutSeconds);
        var meta = new JsonObject { ["entry_point"] = job.EntryPoint }.ToJsonString();
        SandboxedProcess? cand = null, tests = null;
        try
        {
            cand = SandboxedProcess.Start(options, new Dictionary<string, string> { ["solution.py"] = job.Solution }, "worker", channel: true);
            tests = SandboxedProcess.Start(options, new Dictionary<string, string>
            {
                ["prelude.py"] = job.Prelude, ["tests.py"] = job.Tests, ["meta.json"] = meta,
            }, "runner", channel: true);
            var run = new Relay(cand, tests, () => deadline - clock.Elapsed);
            var (status, error) = await run.RunAsync().ConfigureAwait(false);
            cand.Kill(); tests.Kill();
            await Task.WhenAll(cand.DrainAsync(TimeSpan.FromSeconds(1)), tests.DrainAsync(TimeSpan.FromSeconds(1))).ConfigureAwait(false);
            // exit_code: only when the candidate ended by itself (not when we ended it after the verdict)
            return new SandboxResult(status, cand.Killed ? null : cand.ExitCode, "", cand.Stderr.Text, error, clock.Elapsed.TotalSeconds,
                cand.Isolation + "; tests in a separate sandbox");
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or System.ComponentModel.Win32Exception or PlatformNotSupportedException)
        {
            return new SandboxResult(SandboxStatus.SandboxError, null, "", tests?.Stderr.Text ?? "", e.Message, clock.Elapsed.TotalSeconds, cand?.Isolation ?? "none");
        }
        finally
        {
            cand?.Dispose();
            tests?.Dispose();
        }
    }

    /// <summary>Moves call requests from the test runner to the worker and replies back, under one deadline.</summary>
    sealed class Relay(SandboxedProcess cand, SandboxedProcess tests, Func<TimeSpan> remaining)
    {
        bool _ready;

        sealed class DeadlineException : Exception;

        async Task<string?> Next(SandboxedProcess p)
        {
            var left = remaining();
            if (left <= TimeSpan.Zero) throw new DeadlineException();
            var read = p.Channel!.ReadLineAsync();
            if (await Task.WhenAny(read, Task.Delay(left)).ConfigureAwait(false) != read) throw new DeadlineException();
            return await read.ConfigureAwait(false);
        }

        static async Task Send(SandboxedProcess p, string line)
        {
            var bytes = Encoding.UTF8.GetBytes(line + "\n");
            await p.Stdin.WriteAsync(bytes).ConfigureAwait(false);
            await p.Stdin.FlushAsync().ConfigureAwait(false);
        }

        public async Task<(SandboxStatus, string?)> RunAsync()
        {
            try
            {
                while (true)
                {
                    var line = await Next(tests).ConfigureAwait(false);
                    if (line is null)
                        return (SandboxStatus.SandboxError, "test runner ended without a verdict: " + LastLines(tests.Stderr.Text));
                    JsonObject msg;
                    try { msg = JsonNode.Parse(line) as JsonObject ?? throw new FormatException("not an object"); }
                    catch (Exception e) when (e is FormatException or System.Text.Json.JsonException)
                    { return (SandboxStatus.SandboxError, "malformed message from the test runner"); }
                    if (msg["verdict"] is JsonValue v)
                    {
                        var verdict = v.GetValue<string>();
                        // A pass also needs a candidate that loaded, even if the tests never called it.
                        if (await EnsureReady().ConfigureAwait(false) is { } notReady) return notReady;
                        if (verdict == "passed") return (SandboxStatus.Passed, null);
                        var error = msg["error"]?.GetValue<string>() ?? "failed";
                        return (error.StartsWith("MemoryError", StringComparison.Ordinal) ? SandboxStatus.OutOfMemory : SandboxStatus.Failed, error);
                    }
                    if (msg["call"] is null) return (SandboxStatus.SandboxError, "unknown message from the test runner");
                    if (await EnsureReady().ConfigureAwait(false) is { } failed) return failed;
                    await Send(cand, line).ConfigureAwait(false);
                    var reply = await Next(cand).ConfigureAwait(false);
                    if (reply is null) return await CandidateGone().ConfigureAwait(false);
                    await Send(tests, reply).ConfigureAwait(false);
                }
            }
            catch (DeadlineException) { return (SandboxStatus.Timeout, "wall-clock limit reached"); }
            catch (InvalidDataException e) { return (SandboxStatus.Failed, "WireError : " + e.Message); }
            catch (IOException) // a pipe broke: whoever died decides
            {
                if (cand.HasExited || !_ready) return await CandidateGone().ConfigureAwait(false);
                return (SandboxStatus.SandboxError, "test runner pipe closed: " + LastLines(tests.Stderr.Text));
            }
        }

        async Task<(SandboxStatus, string?)?> EnsureReady()
        {
            if (_ready) return null;
            var first = await Next(cand).ConfigureAwait(false);
            if (first is null) return await CandidateGone().ConfigureAwait(false);
            JsonObject? msg = null;
            try { msg = JsonNode.Parse(first) as JsonObject; } catch (System.Text.Json.JsonException) { }
            if (msg?["ready"] is not null) { _ready = true; return null; }
            if (msg?["load_error"] is JsonObject err && err["type"] is JsonValue t && err["message"] is JsonValue m
                && t.TryGetValue<string>(out var type) && m.TryGetValue<string>(out var message))
                return (type == "MemoryError" ? SandboxStatus.OutOfMemory : SandboxStatus.Failed, $"{type} : {message}");
            return (SandboxStatus.Failed, "WireError : the candidate sent a malformed first message");
        }

        /// <summary>The worker closed its channel: classify by how it ended (bounded wait).</summary>
        async Task<(SandboxStatus, string?)> CandidateGone()
        {
            var left = remaining();
            if (!await cand.WaitAsync(left > TimeSpan.FromSeconds(2) ? TimeSpan.FromSeconds(2) : left.Duration()).ConfigureAwait(false))
            { cand.Kill(); return (SandboxStatus.Timeout, "wall-clock limit reached"); }
            await cand.DrainAsync(TimeSpan.FromMilliseconds(500)).ConfigureAwait(false);
            var (status, error) = ProgramRunner.Classify(cand.ExitCode, cand.Stderr.Text);
            if (status is SandboxStatus.Passed or SandboxStatus.Failed)
                return (SandboxStatus.Crashed, $"the candidate exited (code {cand.ExitCode}) before the tests finished" + (error is null ? "" : ": " + error));
            return (status, error);
        }

        static string LastLines(string s) => s.Length <= 400 ? s.Trim() : s[^400..].Trim();
    }
}
