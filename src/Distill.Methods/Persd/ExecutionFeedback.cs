using System.Globalization;
using Distill.Evaluation.Sandbox;

namespace Distill.Methods.Persd;

/// <summary>
/// The execution feedback PERsD puts into the teacher's and the student's repair prompts, in the
/// authors' format (get_error_text in eval_mbpp.py / eval_humaneval.py):
/// an assertion failure is <c>AssertionError\nINPUT: …\nOUTPUT: …\nEXPECTED: …</c> with each value cut
/// to 50 characters (the sandbox's test runner measures them; this class re-applies the cut, which is
/// idempotent); any other error is <c>&lt;Type&gt; : &lt;message&gt;</c>. The authors' harness had no
/// words for a time-out or a killed process; here they are <c>TimeoutError : …</c>,
/// <c>MemoryError : …</c> and <c>RuntimeError : …</c> so every failure reads the same way.
/// The text comes only from runs against a task's VISIBLE tests (<see cref="PersdTask.VisibleJob"/>).
/// </summary>
public static class ExecutionFeedback
{
    /// <summary>PERsD's cut of INPUT/OUTPUT/EXPECTED values.</summary>
    public const int Cut = 50;

    /// <summary>Longest message kept for other errors, so a huge exception text cannot flood a prompt.</summary>
    public const int MaxMessage = 300;

    /// <summary>The feedback for a failed run; null for a pass. A sandbox failure is not the program's fault: it throws.</summary>
    public static string? Of(SandboxResult r, double timeoutSeconds)
    {
        switch (r.Status)
        {
            case SandboxStatus.Passed: return null;
            case SandboxStatus.Timeout:
                return $"TimeoutError : the code did not finish within {timeoutSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s";
            case SandboxStatus.OutOfMemory:
                return r.Error is { } m && m.StartsWith("MemoryError", StringComparison.Ordinal) ? Other(m) : "MemoryError : out of memory";
            case SandboxStatus.Crashed:
                return "RuntimeError : " + Clip(r.Error ?? "the process ended before the tests finished");
            case SandboxStatus.Failed:
                return r.Error is null ? "AssertionError" : r.Error.StartsWith("AssertionError", StringComparison.Ordinal) ? Assertion(r.Error) : Other(r.Error);
            default:
                throw new InvalidOperationException($"the sandbox failed ({r.Error}); this is not feedback on the code — fix the sandbox and resume");
        }
    }

    /// <summary>Re-emits an assertion failure with each of INPUT/OUTPUT/EXPECTED cut to <see cref="Cut"/> characters.</summary>
    public static string Assertion(string error)
    {
        var lines = error.Split('\n');
        var result = new List<string> { "AssertionError" };
        foreach (var label in new[] { "INPUT: ", "OUTPUT: ", "EXPECTED: " })
            if (lines.FirstOrDefault(l => l.StartsWith(label, StringComparison.Ordinal)) is { } line)
                result.Add(label + CutValue(line[label.Length..]));
        return string.Join("\n", result);
    }

    /// <summary>"…" appended when cut, as the sandbox's runner does: a value of at most 50 characters is kept whole.</summary>
    public static string CutValue(string value) => value.Length <= Cut || (value.Length == Cut + 3 && value.EndsWith("...", StringComparison.Ordinal))
        ? value : value[..Cut] + "...";

    /// <summary>"Type : message" (the sandbox already writes this form); an unexpected shape is wrapped as a RuntimeError.</summary>
    static string Other(string error)
    {
        int sep = error.IndexOf(" : ", StringComparison.Ordinal);
        if (sep > 0 && !error[..sep].Contains(' ')) return error[..sep] + " : " + Clip(error[(sep + 3)..]);
        return "RuntimeError : " + Clip(error);
    }

    static string Clip(string s)
    {
        s = s.Trim();
        return s.Length <= MaxMessage ? s : s[..MaxMessage] + "...";
    }
}
