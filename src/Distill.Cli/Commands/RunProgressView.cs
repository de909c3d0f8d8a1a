using System.Globalization;
using System.Text;
using Distill.Methods.Runs;
using Spectre.Console;

namespace Distill.Cli.Commands;

/// <summary>
/// Draws the <see cref="RunProgressEvent"/>s of `distill demo` and `distill run` with Spectre.Console (issue 16 §4): an
/// overall bar over the outer stages (the stage's name and number, ETA) and a bar for the work of the current stage
/// (training steps with loss and tokens/s, as <see cref="TrainProgressView"/>; teacher calls, evaluated problems and sandbox
/// samples, with tokens/s where known). The log lines keep printing above the bars. Quiet (the plain log lines only, no
/// events) when stdout is not an interactive terminal, so tests, pipes and logs stay clean.
/// </summary>
static class RunProgressView
{
    public static bool Interactive => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    const int BarWidth = 24;

    /// <summary>The room a description has beside the bar, the percentage, the ETA and the spinner on one line.</summary>
    static int DescriptionWidth => Math.Max(24, AnsiConsole.Profile.Width - BarWidth - 24);

    /// <summary>Runs <paramref name="body"/> with a progress sink and a log writer: live bars on a terminal, else (null, Console.Out).</summary>
    public static async Task<T> RunAsync<T>(string title, Func<IProgress<RunProgressEvent>?, TextWriter, Task<T>> body)
    {
        if (!Interactive) return await body(null, Console.Out);
        T result = default!;
        using var log = new LineWriter();
        await AnsiConsole.Progress()
            .AutoClear(true)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = BarWidth }, new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                var state = new ViewState(title, ctx.AddTask(Markup.Escape(title), maxValue: 1), ctx.AddTask("starting", maxValue: 1));
                result = await body(RunProgress.Of(state.On), log);
            });
        return result;
    }

    /// <summary>What the two bars show, from the events so far (events may come from several threads: a teacher's parallel calls).</summary>
    internal sealed class ViewState(string title, ProgressTask overall, ProgressTask current)
    {
        readonly object _lock = new();
        (string Name, int Index, int Count)? _outer, _inner;
        double _workFraction;
        int _completed;

        public void On(RunProgressEvent e)
        {
            lock (_lock)
            {
                switch (e)
                {
                    case StageStarted { Level: 0 } s:
                        _outer = (s.Name, s.Index, s.Count);
                        _inner = null;
                        _workFraction = 0;
                        Set(overall, s.Index, s.Count, $"{title} [{s.Index + 1}/{s.Count}] {Short(s.Name)}");
                        Set(current, 0, 1, Short(s.Name));
                        break;
                    case StageCompleted { Level: 0 }:
                        // stages may end out of order (the demo runs two method runs at once): the bar counts those done
                        overall.Value = ++_completed;
                        break;
                    case StageStarted { Level: 1 } s:
                        _inner = (s.Name, s.Index, s.Count);
                        _workFraction = 0;
                        Set(current, 0, 1, $"{Short(s.Name)} ({s.Index + 1}/{s.Count})");
                        break;
                    case StageCompleted { Level: 1 } c when _inner is { } inner:
                        _inner = inner with { Index = c.Index + 1 };
                        _workFraction = 0;
                        break;
                    case WorkProgress w:
                        _workFraction = w.Total > 0 ? Math.Clamp((double)w.Done / w.Total, 0, 1) : 0;
                        Set(current, w.Done, Math.Max(1, w.Total), Label(Describe(w)));
                        break;
                }
                if (_outer is { } o)
                {
                    // inside the outer stage: its inner stages done plus the current one's work; once the inner stages are all
                    // done (a sub-stage such as PLaD's teacher-gen inside `distill run`'s plad stage), the work that follows
                    double inside = _inner is { Count: > 0 } i && i.Index < i.Count ? (i.Index + _workFraction) / i.Count : _workFraction;
                    overall.Value = Math.Max(overall.Value, _completed + Math.Min(inside, 0.999));
                }
            }
        }

        string Label(string what) => _inner is { } i ? $"{Short(i.Name)} › {what}" : what;

        static void Set(ProgressTask task, double value, double max, string description)
        {
            task.MaxValue = max;
            task.Value = value;
            if (description.Length == 0) description = "…";
            if (description.Length > DescriptionWidth) description = description[..(DescriptionWidth - 1)] + "…";
            task.Description = Markup.Escape(description);
        }

        /// <summary>The stage's name up to its explanation in parentheses or after a colon (the log lines carry the rest).</summary>
        static string Short(string name)
        {
            int cut = name.IndexOfAny(['(', ':']);
            var s = (cut > 0 ? name[..cut] : name).Trim();
            return s.Length > 48 ? s[..47] + "…" : s;
        }
    }

    /// <summary>"train 12/40 steps · loss 1.2345 · 1,850 tok/s · ETA 00:01:10".</summary>
    internal static string Describe(WorkProgress w)
    {
        var inv = CultureInfo.InvariantCulture;
        var b = new StringBuilder($"{w.What} {w.Done}/{w.Total} {w.Unit}");
        if (w.Loss is { } loss) b.Append(inv, $" · loss {loss:F4}");
        if (w.TokensPerSecond is { } tps) b.Append(inv, $" · {tps:N0} tok/s");
        if (w.Eta is { } eta) b.Append(inv, $" · ETA {eta:hh\\:mm\\:ss}");
        return b.ToString();
    }

    /// <summary>Log lines printed above the live bars (Spectre redraws them below), one whole line at a time.</summary>
    sealed class LineWriter : TextWriter
    {
        readonly StringBuilder _line = new();
        readonly object _lock = new();
        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            lock (_lock)
            {
                if (value == '\n')
                {
                    AnsiConsole.WriteLine(_line.ToString());
                    _line.Clear();
                }
                else if (value != '\r') _line.Append(value);
            }
        }

        public override void Write(string? value)
        {
            if (value is null) return;
            lock (_lock) foreach (var c in value) Write(c);
        }

        public override void WriteLine(string? value)
        {
            lock (_lock) { Write(value); Write('\n'); }
        }

        public override void Flush()
        {
            lock (_lock)
            {
                if (_line.Length == 0) return;
                AnsiConsole.WriteLine(_line.ToString());
                _line.Clear();
            }
        }
    }
}
