using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Distill.Chat.Caching;

namespace Distill.Chat.Serving;

/// <summary>Server settings. Loopback by default: exposing a model beyond the machine is a choice.</summary>
public sealed record ServerOptions
{
    public string Host { get; init; } = "127.0.0.1";
    public int Port { get; init; } = 8000;
    public string ModelName { get; init; } = "distill";
    /// <summary>Requests run against the model at once; more wait in the queue.</summary>
    public int MaxConcurrency { get; init; } = 4;
    /// <summary>Requests allowed to wait; beyond that the server answers 429 at once.</summary>
    public int MaxQueue { get; init; } = 256;
}

/// <summary>
/// An OpenAI-compatible HTTP server (https://platform.openai.com/docs/api-reference/chat) over any
/// IChatClient: POST /v1/chat/completions (with stream: true as server-sent events), POST
/// /v1/completions, GET /v1/models. Malformed requests get OpenAI's error JSON with a 4xx status.
/// </summary>
public sealed class OpenAiServer : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly IChatClient _model;
    readonly ServerOptions _options;
    readonly SemaphoreSlim _running;
    int _waiting;

    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1/");

    public OpenAiServer(IChatClient model, ServerOptions options)
    {
        _model = model;
        _options = options;
        _running = new SemaphoreSlim(options.MaxConcurrency, options.MaxConcurrency);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://{options.Host}:{options.Port}");
        _app = builder.Build();
        _app.MapGet("/v1/models", () => Results.Json(new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray(new JsonObject { ["id"] = options.ModelName, ["object"] = "model", ["created"] = 0, ["owned_by"] = "distill" }),
        }));
        _app.MapPost("/v1/chat/completions", ctx => Handle(ctx, chat: true));
        _app.MapPost("/v1/completions", ctx => Handle(ctx, chat: false));
        _app.MapFallback(ctx => WriteError(ctx, 404, $"no route for {ctx.Request.Method} {ctx.Request.Path}", "invalid_request_error", null));
    }

    public async Task StartAsync(CancellationToken ct = default)
    {
        await _app.StartAsync(ct).ConfigureAwait(false);
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.TrimEnd('/') + "/");
    }

    public Task WaitForShutdownAsync(CancellationToken ct) => _app.WaitForShutdownAsync(ct);

    async Task Handle(HttpContext ctx, bool chat)
    {
        ChatRequest request;
        try
        {
            using var doc = await JsonDocument.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted).ConfigureAwait(false);
            request = chat ? ChatRequest.ParseChat(doc.RootElement) : ChatRequest.ParseCompletion(doc.RootElement);
        }
        catch (JsonException e) { await WriteError(ctx, 400, $"the body is not valid JSON: {e.Message}", "invalid_request_error", null); return; }
        catch (BadRequestException e) { await WriteError(ctx, 400, e.Message, "invalid_request_error", e.Param); return; }

        if (Interlocked.Increment(ref _waiting) > _options.MaxQueue + _options.MaxConcurrency)
        {
            Interlocked.Decrement(ref _waiting);
            ctx.Response.Headers.RetryAfter = "1";
            await WriteError(ctx, 429, "the server's queue is full; retry later", "rate_limit_exceeded", null);
            return;
        }
        try
        {
            await _running.WaitAsync(ctx.RequestAborted).ConfigureAwait(false);
            try
            {
                if (request.Stream) await Streamer.WriteAsync(ctx, _model, request, _options.ModelName, chat).ConfigureAwait(false);
                else await WriteCompletion(ctx, request, chat).ConfigureAwait(false);
            }
            finally { _running.Release(); }
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested) { }
        catch (Exception e) when (!ctx.Response.HasStarted)
        {
            // The model failed, not the request: 503 with the reason (no stack trace, no secrets).
            await WriteError(ctx, 503, $"the model failed: {e.GetType().Name}: {e.Message}", "server_error", null);
        }
        finally { Interlocked.Decrement(ref _waiting); }
    }

    async Task WriteCompletion(HttpContext ctx, ChatRequest request, bool chat)
    {
        var choices = new JsonArray();
        long input = 0, output = 0;
        for (int i = 0; i < request.N; i++)
        {
            var response = await _model.GetResponseAsync(request.Messages, Sample(request.Options, i), ctx.RequestAborted).ConfigureAwait(false);
            input = response.Usage?.InputTokenCount ?? input;
            output += response.Usage?.OutputTokenCount ?? 0;
            var finish = Streamer.FinishReason(response.FinishReason);
            choices.Add(chat
                ? new JsonObject { ["index"] = i, ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = response.Text }, ["finish_reason"] = finish, ["logprobs"] = null }
                : new JsonObject { ["index"] = i, ["text"] = response.Text, ["finish_reason"] = finish, ["logprobs"] = null });
        }
        await Results.Json(new JsonObject
        {
            ["id"] = OpenAiJson.NewId(chat),
            ["object"] = chat ? "chat.completion" : "text_completion",
            ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["model"] = request.Model ?? _options.ModelName,
            ["choices"] = choices,
            ["usage"] = OpenAiJson.Usage(input, output),
        }).ExecuteAsync(ctx).ConfigureAwait(false);
    }

    /// <summary>The i-th of n samples: its own cache key, and seed + i when a seed is given, so samples differ but repeat.</summary>
    internal static ChatOptions Sample(ChatOptions options, int i)
    {
        if (i == 0) return options;
        var copy = options.Clone();
        copy.AdditionalProperties = new AdditionalPropertiesDictionary(options.AdditionalProperties ?? []) { [CacheKey.SampleIndex] = i };
        if (options.Seed is { } seed) copy.Seed = seed + i;
        return copy;
    }

    internal static Task WriteError(HttpContext ctx, int status, string message, string type, string? param)
        => Results.Json(new JsonObject
        {
            ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = param, ["code"] = null },
        }, statusCode: status).ExecuteAsync(ctx);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
