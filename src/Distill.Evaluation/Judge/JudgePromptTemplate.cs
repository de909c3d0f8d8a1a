using System.Text;
using System.Text.Json;

namespace Distill.Evaluation.Judge;

/// <summary>
/// A pairwise judge prompt: a system message and a user template with FastChat's placeholders
/// <c>{question}</c>, <c>{answer_a}</c>, <c>{answer_b}</c> (fastchat/llm_judge/data/judge_prompts.jsonl
/// names them so). Two ship with Distill (<see cref="JudgePrompt"/>): <see cref="DpoKd"/>, the DPO-KD
/// paper's Appendix B prompt and the <see cref="Default"/>, and <see cref="MtBenchPairV2"/>.
/// <see cref="Load"/> reads another one from a JSON object with FastChat's keys <c>system_prompt</c>
/// and <c>prompt_template</c>, so a user can swap the judge's wording without touching code. The
/// verdict format is not negotiable: the prompt must ask for [[A]]/[[B]]/[[C]], which
/// <see cref="JudgeVerdict.Parse"/> reads strictly.
/// </summary>
public sealed record JudgePromptTemplate(string Name, string System, string UserTemplate)
{
    static readonly string[] Placeholders = ["{question}", "{answer_a}", "{answer_b}"];

    /// <summary>The DPO-KD paper's judge (Appendix B) with pair-v2's user template.</summary>
    public static JudgePromptTemplate DpoKd { get; } = new("dpo-kd", JudgePrompt.DpoKdSystem, JudgePrompt.UserTemplate);

    /// <summary>MT-Bench's pair-v2 (Zheng et al. 2023).</summary>
    public static JudgePromptTemplate MtBenchPairV2 { get; } = new("mt-bench-pair-v2", JudgePrompt.MtBenchPairV2System, JudgePrompt.UserTemplate);

    /// <summary>The prompt used when none is named: DPO-KD's, since DPO-KD's recipes are judged with it.</summary>
    public static JudgePromptTemplate Default => DpoKd;

    /// <summary>The built-in prompts by name.</summary>
    public static IReadOnlyList<JudgePromptTemplate> BuiltIn { get; } = [DpoKd, MtBenchPairV2];

    /// <summary>A built-in prompt by name (<c>dpo-kd</c>, <c>mt-bench-pair-v2</c>), else a JSON file (<see cref="Load"/>).</summary>
    public static JudgePromptTemplate Resolve(string nameOrPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrPath);
        if (BuiltIn.FirstOrDefault(t => t.Name == nameOrPath) is { } builtIn) return builtIn;
        if (!File.Exists(nameOrPath))
            throw new FileNotFoundException($"judge prompt '{nameOrPath}' is neither a built-in ({string.Join(", ", BuiltIn.Select(t => t.Name))}) nor a file", nameOrPath);
        return Load(nameOrPath);
    }

    /// <summary>The user message. One left-to-right pass, so an answer that itself contains
    /// "{answer_b}" is copied verbatim rather than substituted again.</summary>
    public string User(string question, string answerA, string answerB)
    {
        var sb = new StringBuilder(UserTemplate.Length + question.Length + answerA.Length + answerB.Length);
        int i = 0;
        while (i < UserTemplate.Length)
        {
            int next = UserTemplate.IndexOf('{', i);
            if (next < 0) { sb.Append(UserTemplate, i, UserTemplate.Length - i); break; }
            sb.Append(UserTemplate, i, next - i);
            string? value = Match(next, "{question}") ? question : Match(next, "{answer_a}") ? answerA : Match(next, "{answer_b}") ? answerB : null;
            if (value is null) { sb.Append('{'); i = next + 1; continue; }
            sb.Append(value);
            i = next + UserTemplate.AsSpan(next).IndexOf('}') + 1;
        }
        return sb.ToString();
    }

    bool Match(int at, string placeholder) => string.CompareOrdinal(UserTemplate, at, placeholder, 0, placeholder.Length) == 0;

    /// <summary>Reads <c>{"name"?, "system_prompt", "prompt_template"}</c> (one FastChat
    /// judge_prompts.jsonl line is accepted as is). Errors name the file and the missing piece.</summary>
    public static JudgePromptTemplate Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"judge prompt file not found: {path}", path);
        JsonElement root;
        try { root = JsonDocument.Parse(File.ReadAllText(path)).RootElement; }
        catch (JsonException e) { throw new FormatException($"{path}: not a JSON object ({e.Message})", e); }
        if (root.ValueKind != JsonValueKind.Object) throw new FormatException($"{path}: expected a JSON object with system_prompt and prompt_template");
        string Field(string key) =>
            root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String && v.GetString()!.Length > 0
                ? v.GetString()! : throw new FormatException($"{path}: missing or empty string field \"{key}\"");
        var system = Field("system_prompt");
        var template = Field("prompt_template");
        foreach (var p in Placeholders)
            if (!template.Contains(p, StringComparison.Ordinal))
                throw new FormatException($"{path}: prompt_template lacks the placeholder {p}");
        // A prompt that never asks for the strict verdict tokens would make every reply unparseable.
        foreach (var token in new[] { "[[A]]", "[[B]]", "[[C]]" })
            if (!system.Contains(token, StringComparison.Ordinal) && !template.Contains(token, StringComparison.Ordinal))
                throw new FormatException($"{path}: the prompt never asks for the verdict token {token} (verdicts are parsed strictly as [[A]]/[[B]]/[[C]])");
        var name = root.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : Path.GetFileNameWithoutExtension(path);
        return new JudgePromptTemplate(name, system, template);
    }
}
