using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;
using Distill.Evaluation.Rouge;
using Microsoft.Extensions.AI;

namespace Distill.Evaluation.Judge;

/// <summary>
/// A judge with no language model, for runs that have none able to judge (the offline demo, the smoke recipes): it
/// reads the pairwise prompt <see cref="PairwiseJudge"/> sends, looks up the question's reference answer, and answers
/// [[A]], [[B]] or [[C]] by which answer agrees more with the reference (the mean of ROUGE-1, ROUGE-2 and ROUGE-L F1,
/// stemmed; within <c>tieBand</c> of each other = tie). It goes through the same interface, prompt and position swap as an LLM judge,
/// so the win-rate code under test is the real one; results made with it must be labelled <see cref="Label"/>.
/// </summary>
public sealed class ReferenceAgreementJudge : IChatClient
{
    public const string Label = "rule-based";

    readonly Regex _user;
    readonly Func<string, string?> _referenceOf;
    readonly RougeScorer _rouge = new(useStemmer: true);
    readonly double _tieBand;

    /// <param name="referenceOf">the reference answer of a question (the text PairwiseJudge puts in {question}); null = unknown.</param>
    public ReferenceAgreementJudge(Func<string, string?> referenceOf, JudgePromptTemplate? prompt = null, double tieBand = 0.02)
    {
        if (!(tieBand is >= 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(tieBand), "the tie band must be in [0, 1)");
        _referenceOf = referenceOf;
        _tieBand = tieBand;
        _user = Inverse(prompt ?? JudgePromptTemplate.Default);
    }

    /// <summary>The template turned back into a pattern: literal text escaped, each placeholder a named group.</summary>
    static Regex Inverse(JudgePromptTemplate template)
    {
        var names = new Dictionary<string, string> { ["{question}"] = "q", ["{answer_a}"] = "a", ["{answer_b}"] = "b" };
        var sb = new StringBuilder("^");
        var t = template.UserTemplate;
        int i = 0;
        while (i < t.Length)
        {
            var next = names.Keys.Select(k => (Key: k, At: t.IndexOf(k, i, StringComparison.Ordinal))).Where(x => x.At >= 0).OrderBy(x => x.At).FirstOrDefault();
            if (next.Key is null) { sb.Append(Regex.Escape(t[i..])); break; }
            sb.Append(Regex.Escape(t[i..next.At])).Append("(?<").Append(names[next.Key]).Append(">.*)");
            i = next.At + next.Key.Length;
        }
        return new Regex(sb.Append('$').ToString(), RegexOptions.Singleline | RegexOptions.CultureInvariant);
    }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var user = messages.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? throw new ArgumentException("the judge prompt has no user message");
        var m = _user.Match(user);
        if (!m.Success) throw new ArgumentException("the user message does not follow the judge prompt template this judge was built with");
        var question = m.Groups["q"].Value;
        var reference = _referenceOf(question) ?? throw new KeyNotFoundException($"no reference answer for the question starting \"{Head(question)}\"");
        double a = Agreement(reference, m.Groups["a"].Value), b = Agreement(reference, m.Groups["b"].Value);
        var verdict = Math.Abs(a - b) < _tieBand ? "[[C]]" : a > b ? "[[A]]" : "[[B]]";
        var text = string.Create(CultureInfo.InvariantCulture, $"Rule-based judgment (no language model): agreement with the reference answer (mean ROUGE-1/2/L F1) is {a:F3} for Assistant A and {b:F3} for Assistant B. {verdict}");
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, text)) { FinishReason = ChatFinishReason.Stop, ModelId = Label });
    }

    /// <summary>Agreement of an answer with the reference: the mean of ROUGE-1, ROUGE-2 and ROUGE-L F1.</summary>
    public double Agreement(string reference, string answer)
    {
        var s = _rouge.Score(reference, answer);
        return (s.Rouge1.FMeasure + s.Rouge2.FMeasure + s.RougeL.FMeasure) / 3;
    }

    static string Head(string s) => s.Length <= 60 ? s : s[..60] + "…";

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var r = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (var u in r.ToChatResponseUpdates()) yield return u;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose() { }
}
