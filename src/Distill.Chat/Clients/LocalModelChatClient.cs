using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Distill.Models;
using Distill.Models.Generation;
using Distill.Models.Lora;
using Distill.Text;
using Template = Distill.Text.ChatTemplate.ChatTemplate;

namespace Distill.Chat.Clients;

/// <summary>
/// A local Hugging Face folder (config.json, *.safetensors, tokenizer.json, tokenizer_config.json)
/// on our engine, as an IChatClient. Messages go through the folder's chat_template the way
/// transformers' apply_chat_template(add_generation_prompt=True) does (the template supplies BOS,
/// so encoding adds no special tokens); without a template the messages' texts are joined and
/// encoded with special tokens. One generation runs at a time (the model's KV caches and arena are
/// per call, but the engine's thread pool is shared): concurrent requests queue.
/// Streaming yields the whole answer as one update after generation (the generator has no
/// per-token callback yet).
/// </summary>
public sealed class LocalModelChatClient : IChatClient
{
    readonly CausalLM _model;
    readonly Tokenizer _tokenizer;
    readonly Template? _template;
    readonly SemaphoreSlim _gate = new(1, 1);
    readonly ChatClientMetadata _metadata;
    readonly int[] _eos;

    public string Name { get; }

    LocalModelChatClient(string name, CausalLM model, Tokenizer tokenizer, Template? template)
    {
        Name = name;
        _model = model;
        _tokenizer = tokenizer;
        _template = template;
        var eos = new HashSet<int>(model.Config.EosTokenIds);
        if (template?.EosToken is { } eosText && tokenizer.TokenToId(eosText) is { } id) eos.Add(id);
        _eos = [.. eos];
        _metadata = new ChatClientMetadata("distill-local", null, name);
    }

    /// <param name="weights">the weights generation runs on: f32 (reference), q8 / q8row (8-bit copies of the frozen weights) or bf16</param>
    public static LocalModelChatClient Load(string dir, string? adapter = null, InferenceWeights weights = InferenceWeights.F32)
    {
        if (!File.Exists(Path.Combine(dir, "tokenizer.json")))
            throw new InvalidOperationException($"{dir}: no tokenizer.json — a chat model needs its tokenizer");
        var model = ModelIO.Load(dir);
        if (adapter is not null) LoraModel.Load(model, adapter);
        model.FreezeBase(); // serving never trains: no gradient buffers, and frozen weights may be held in 8 bits
        model.UseInferenceWeights(weights);
        var tokenizer = TokenizerLoader.Load(dir);
        // A folder without a chat_template is served by joining the messages' texts.
        var template = Template.FromModelFolder(dir);
        return new LocalModelChatClient(Path.GetFileName(Path.GetFullPath(dir).TrimEnd('/')), model, tokenizer, template);
    }

    /// <summary>The token ids of the prompt for these messages.</summary>
    public int[] PromptIds(IEnumerable<ChatMessage> messages)
    {
        var list = messages.Select(m => (Role: m.Role.Value, Content: m.Text)).ToList();
        return _template is not null
            ? [.. _tokenizer.EncodeToIds(_template.Render(list, addGenerationPrompt: true), addSpecialTokens: false)]
            : [.. _tokenizer.EncodeToIds(JoinedText(messages), addSpecialTokens: true)];
    }

    /// <summary>The text a folder without a chat_template is given for these messages: their texts joined with "\n".</summary>
    public static string JoinedText(IEnumerable<ChatMessage> messages) => string.Join("\n", messages.Select(m => m.Text));

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var prompt = PromptIds(messages);
        var sampling = new SamplingOptions
        {
            MaxNewTokens = options?.MaxOutputTokens ?? 256,
            Temperature = options?.Temperature ?? 1f,
            TopP = options?.TopP ?? 1f,
            TopK = options?.TopK ?? 0,
            StopStrings = options?.StopSequences?.ToList() ?? [],
            Seed = (ulong)(options?.Seed ?? 0) * 1_000_003UL + (ulong)Caching.CacheKey.SampleOf(options),
            EosTokenIds = _eos,
        };
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        Completion completion;
        try
        {
            completion = await Task.Run(() => Generator.Generate(_model, prompt, sampling, ids => _tokenizer.Decode(ids, skipSpecialTokens: true))[0], cancellationToken)
                .ConfigureAwait(false);
        }
        finally { _gate.Release(); }
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, completion.Text ?? ""))
        {
            ModelId = Name,
            FinishReason = completion.FinishReason == "length" ? ChatFinishReason.Length : ChatFinishReason.Stop,
            Usage = new UsageDetails { InputTokenCount = prompt.Length, OutputTokenCount = completion.Ids.Length, TotalTokenCount = prompt.Length + completion.Ids.Length },
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (var u in response.ToChatResponseUpdates()) yield return u;
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
        => serviceKey is null && serviceType == typeof(ChatClientMetadata) ? _metadata
         : serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose() => _model.Dispose();
}
