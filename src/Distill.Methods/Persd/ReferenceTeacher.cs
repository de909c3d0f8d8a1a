using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Distill.Methods.Persd;

/// <summary>
/// A deterministic, offline stand-in teacher for smoke runs and tests (recipe: <c>teacher.model: reference</c>):
/// it is NOT a model. It recognises the task from the first user message of a PERsD teacher conversation
/// (turn 1, <see cref="PersdPrompts.TeacherGoldPrompt"/>, or the solve-mode prompt <see cref="PersdPrompts.TeacherSolvePrompt"/>) and answers with the task's reference program in
/// a ```python fence — so every refinement it writes passes, and SeqKD's answers are the references. Usage is
/// counted as whitespace-separated words; it costs nothing. A message it does not recognise is an error.
/// </summary>
public sealed class ReferenceTeacher : IChatClient
{
    public const string ModelName = "reference";

    readonly Dictionary<string, string> _byPrompt;
    int _calls;
    public int Calls => Volatile.Read(ref _calls);

    public ReferenceTeacher(IEnumerable<PersdItem> items)
    {
        _byPrompt = [];
        foreach (var (task, _) in items)
            if (task.Reference is not null)
            {
                _byPrompt[PersdPrompts.TeacherGoldPrompt(task)] = task.Reference;
                _byPrompt[PersdPrompts.TeacherSolvePrompt(task)] = task.Reference; // solve mode with the dataset's prompt
            }
    }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        var list = messages.ToList();
        var first = list.FirstOrDefault(m => m.Role == ChatRole.User)?.Text ?? "";
        if (!_byPrompt.TryGetValue(first, out var reference))
            throw new InvalidDataException("reference teacher: the conversation does not start with the turn-1 prompt of a task it knows");
        var text = "```python\n" + reference.TrimEnd() + "\n```";
        int input = list.Sum(m => Words(m.Text)), output = Words(text);
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, text))
        {
            ModelId = ModelName,
            FinishReason = ChatFinishReason.Stop,
            Usage = new UsageDetails { InputTokenCount = input, OutputTokenCount = output, TotalTokenCount = input + output },
        });
    }

    static int Words(string s) => s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (var u in response.ToChatResponseUpdates()) yield return u;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;
    public void Dispose() { }
}
