using Microsoft.Extensions.AI;

namespace Distill.Evaluation.Judge;

/// <summary>One judged pair with both raw judgments kept for audit.</summary>
public sealed record PairJudgment(string Question, PairOutcome Outcome, PositionVerdict First, PositionVerdict Second, string FirstText, string SecondText);

/// <summary>
/// Asks any <see cref="IChatClient"/> to compare two answers, in both orders (position bias
/// cancels), at temperature 0, with <see cref="JudgePromptTemplate.Default"/> (the DPO-KD paper's Appendix B prompt) or the template given.
/// </summary>
public sealed class PairwiseJudge(IChatClient client, int maxOutputTokens = 1024, JudgePromptTemplate? prompt = null)
{
    readonly JudgePromptTemplate _prompt = prompt ?? JudgePromptTemplate.Default;

    public async Task<PairJudgment> JudgeAsync(string question, string answer1, string answer2, CancellationToken ct = default)
    {
        var first = await AskAsync(question, answer1, answer2, ct).ConfigureAwait(false);
        var second = await AskAsync(question, answer2, answer1, ct).ConfigureAwait(false);
        var v1 = JudgeVerdict.Parse(first);
        var v2 = JudgeVerdict.Parse(second);
        return new PairJudgment(question, JudgeVerdict.Combine(v1, v2), v1, v2, first, second);
    }

    async Task<string> AskAsync(string question, string a, string b, CancellationToken ct)
    {
        var messages = new List<ChatMessage>
        {
            new(ChatRole.System, _prompt.System),
            new(ChatRole.User, _prompt.User(question, a, b)),
        };
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = maxOutputTokens };
        var response = await client.GetResponseAsync(messages, options, ct).ConfigureAwait(false);
        return response.Text;
    }
}
