using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Distill.Chat.Clients;

/// <summary>
/// A deterministic stand-in model for tests and load benchmarks of the server: it answers with the
/// words of the last user message in reverse order, then "(sample N)" for sample/seed variety, one
/// "token" per word; max tokens and stop sequences apply as a real model's would. Counts its calls.
/// </summary>
public sealed class FakeChatClient(string model = "fake") : IChatClient
{
    int _calls;
    public int Calls => Volatile.Read(ref _calls);

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        var (words, finish, input) = Answer(messages, options);
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, string.Concat(words)))
        {
            ModelId = model,
            FinishReason = finish,
            Usage = new UsageDetails { InputTokenCount = input, OutputTokenCount = words.Count, TotalTokenCount = input + words.Count },
        });
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        var (words, finish, input) = Answer(messages, options);
        foreach (var w in words)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await Task.Yield();
            yield return new ChatResponseUpdate(ChatRole.Assistant, w) { ModelId = model };
        }
        var last = new ChatResponseUpdate(ChatRole.Assistant, "") { ModelId = model, FinishReason = finish };
        last.Contents.Add(new UsageContent(new UsageDetails { InputTokenCount = input, OutputTokenCount = words.Count, TotalTokenCount = input + words.Count }));
        yield return last;
    }

    static (List<string> Words, ChatFinishReason Finish, int InputTokens) Answer(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        var list = messages.ToList();
        var prompt = list.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "";
        var split = prompt.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var tokens = split.Reverse().Append($"(sample {Caching.CacheKey.SampleOf(options) + (options?.Seed ?? 0)})").ToList();
        int inputTokens = list.Sum(m => m.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        var words = new List<string>();
        string text = "";
        var finish = ChatFinishReason.Stop;
        for (int i = 0; i < tokens.Count; i++)
        {
            if (options?.MaxOutputTokens is { } max && words.Count >= max) { finish = ChatFinishReason.Length; break; }
            var piece = (i == 0 ? "" : " ") + tokens[i];
            var candidate = text + piece;
            if (options?.StopSequences?.FirstOrDefault(s => candidate.Contains(s, StringComparison.Ordinal)) is { } stop)
            {
                // Cut at the stop string, which is not returned (OpenAI semantics).
                var cut = candidate[..candidate.IndexOf(stop, StringComparison.Ordinal)];
                if (cut.Length > text.Length) words.Add(cut[text.Length..]);
                break;
            }
            words.Add(piece);
            text = candidate;
        }
        return (words, finish, inputTokens);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;
    public void Dispose() { }
}
