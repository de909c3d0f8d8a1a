using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Distill.Methods.Persd;
using Microsoft.Extensions.AI;

namespace Distill.Methods.Tests.Persd;

/// <summary>A student that answers from a script (prompt → samples); counts its generations.</summary>
sealed class ScriptedStudent(Func<string, int, IReadOnlyList<string>> answer) : ICodeStudent
{
    int _calls;
    public int Calls => Volatile.Read(ref _calls);
    public ConcurrentBag<string> Prompts { get; } = [];
    public string Identity => "scripted";

    public Task<IReadOnlyList<string>> SampleAsync(string prompt, int n, float temperature, int maxNewTokens, ulong seed, CancellationToken ct)
    {
        Interlocked.Increment(ref _calls);
        Prompts.Add(prompt);
        return Task.FromResult(answer(prompt, n));
    }
}

/// <summary>A teacher that answers from a script (messages → text); no network; records every message it saw.</summary>
sealed class ScriptedTeacher(Func<IReadOnlyList<ChatMessage>, string> answer) : IChatClient
{
    int _calls, _answered;
    public int Calls => Volatile.Read(ref _calls);
    /// <summary>Calls that returned an answer.</summary>
    public int Answered => Volatile.Read(ref _answered);
    public ConcurrentBag<string> Seen { get; } = [];
    /// <summary>Called before each answer (a test can cancel a run here to simulate a crash).</summary>
    public Action<int>? OnCall { get; set; }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages.ToList();
        int call = Interlocked.Increment(ref _calls);
        OnCall?.Invoke(call);
        cancellationToken.ThrowIfCancellationRequested();
        foreach (var m in list) Seen.Add(m.Text);
        var text = answer(list);
        Interlocked.Increment(ref _answered);
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, text))
        {
            ModelId = "scripted-teacher",
            Usage = new UsageDetails { InputTokenCount = 100, OutputTokenCount = 20, TotalTokenCount = 120 },
        });
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var r = await GetResponseAsync(messages, options, cancellationToken);
        foreach (var u in r.ToChatResponseUpdates()) yield return u;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;
    public void Dispose() { }
}
