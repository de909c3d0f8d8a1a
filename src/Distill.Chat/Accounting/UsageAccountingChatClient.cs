using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Distill.Chat.Accounting;

/// <summary>
/// Records the token usage of every answer that reaches it into a <see cref="UsageLedger"/> under a
/// stage name ("teacher-gen", "judge", ...). Place it inside the cache so cached answers cost nothing.
/// Usage is booked under the configured <c>model</c> (the name the price table knows, e.g. "gpt-4o"),
/// not the snapshot id a server reports back ("gpt-4o-2024-08-06"), streamed or not alike.
/// </summary>
public sealed class UsageAccountingChatClient(IChatClient inner, UsageLedger ledger, string stage, string model) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var response = await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        ledger.Record(stage, model, response.Usage?.InputTokenCount ?? 0, response.Usage?.OutputTokenCount ?? 0);
        return response;
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        long input = 0, output = 0;
        await foreach (var u in base.GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
        {
            foreach (var usage in u.Contents.OfType<UsageContent>())
            {
                input += usage.Details.InputTokenCount ?? 0;
                output += usage.Details.OutputTokenCount ?? 0;
            }
            yield return u;
        }
        ledger.Record(stage, model, input, output);
    }
}
