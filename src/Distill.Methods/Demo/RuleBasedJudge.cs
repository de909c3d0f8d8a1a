using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Distill.Evaluation.Rouge;
using Microsoft.Extensions.AI;

namespace Distill.Methods.Demo;

/// <summary>
/// The demo's judge: NOT a language model. The demo has no model able to judge, so this <see cref="IChatClient"/> reads
/// the DPO-KD judge prompt it is sent (MT-Bench pair-v2 user template: question, Assistant A's and B's answers), looks the
/// question's reference answer up, and answers "[[A]]", "[[B]]" or "[[C]]" from each answer's agreement with the reference:
/// the mean of ROUGE-1, ROUGE-2 and ROUGE-L F1 (stemmed); a difference under <see cref="TieMargin"/> is a tie. It goes
/// through the same <see cref="Evaluation.Judge.PairwiseJudge"/> as an LLM judge (both orders, position swap), so the
/// report's judge column is computed the same way; results label it "rule-based".
/// </summary>
public sealed partial class RuleBasedJudge(IReadOnlyDictionary<string, string> referenceByQuestion) : IChatClient
{
    public const string Label = "rule-based";
    public const double TieMargin = 0.02;
    readonly RougeScorer _rouge = new(useStemmer: true);

    public double Agreement(string reference, string answer)
    {
        var s = _rouge.Score(reference, answer);
        return (s.Rouge1.FMeasure + s.Rouge2.FMeasure + s.RougeL.FMeasure) / 3;
    }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var user = messages.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? throw new ArgumentException("the judge was sent no user message");
        var m = Prompt().Match(user);
        if (!m.Success) throw new ArgumentException("the rule-based judge reads the MT-Bench pair-v2 user template (question, answers A and B); this prompt is not one");
        var question = m.Groups["q"].Value;
        if (!referenceByQuestion.TryGetValue(question, out var reference))
            throw new ArgumentException($"the rule-based judge has no reference answer for the question \"{Short(question)}\"");
        double a = Agreement(reference, m.Groups["a"].Value), b = Agreement(reference, m.Groups["b"].Value);
        string verdict = Math.Abs(a - b) < TieMargin ? "[[C]]" : a > b ? "[[A]]" : "[[B]]";
        var text = string.Create(CultureInfo.InvariantCulture,
            $"Rule-based judgment (no language model): agreement with the reference answer (mean ROUGE-1/2/L F1) is {a:F3} for Assistant A and {b:F3} for Assistant B. {verdict}");
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, text)) { ModelId = Label });
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var r = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        yield return new ChatResponseUpdate(ChatRole.Assistant, r.Text) { ModelId = Label };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;
    public void Dispose() { }

    static string Short(string s) => s.Length <= 60 ? s : s[..60] + "…";

    // JudgePrompt.UserTemplate with its three placeholders captured
    [GeneratedRegex(@"^\[User Question\]\n(?<q>.*)\n\n\[The Start of Assistant A's Answer\]\n(?<a>.*)\n\[The End of Assistant A's Answer\]\n\n\[The Start of Assistant B's Answer\]\n(?<b>.*)\n\[The End of Assistant B's Answer\]$", RegexOptions.Singleline)]
    private static partial Regex Prompt();
}
