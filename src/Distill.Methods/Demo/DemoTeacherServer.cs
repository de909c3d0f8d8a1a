using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Distill.Chat;
using Distill.Chat.Serving;
using Microsoft.Extensions.AI;

namespace Distill.Methods.Demo;

/// <summary>
/// The demo's teacher behind `distill serve`'s server (<see cref="OpenAiServer"/>) on loopback, reached by the methods as
/// <c>openai:demo-teacher@http://127.0.0.1:PORT/v1</c> — the OpenAI SDK path an API teacher takes, with the run's response
/// cache and usage ledger in between. The port is kept in DIR/server.json so that a resumed demo writes the same recipes
/// (a recipe that changed refuses to resume). Counts what reached the server: requests and tokens per method.
/// </summary>
public sealed class DemoTeacherServer : IAsyncDisposable
{
    public const string ModelName = "demo-teacher";
    /// <summary>Notional prices (USD per million input / output tokens) written into the recipes: a small API model's.</summary>
    public const double PriceInput = 0.15, PriceOutput = 0.60;

    readonly OpenAiServer _server;
    readonly CountingChatClient _counter;

    DemoTeacherServer(OpenAiServer server, CountingChatClient counter, int port) { _server = server; _counter = counter; Port = port; }

    public int Port { get; }
    public string Reference => $"openai:{ModelName}@http://127.0.0.1:{Port}/v1";
    public (long Requests, long InputTokens, long OutputTokens) Usage => _counter.Snapshot();

    public static async Task<DemoTeacherServer> StartAsync(string teacherDir, string stateFile, CancellationToken ct)
    {
        int port = File.Exists(stateFile) ? (int)JsonNode.Parse(File.ReadAllText(stateFile))!["port"]! : FreePort();
        var counter = new CountingChatClient(ChatClientFactory.Create(ModelReference.Parse(teacherDir)));
        // one request at a time: the local engine is not shared between threads, and answers stay in a fixed order
        var server = new OpenAiServer(counter, new ServerOptions { Host = "127.0.0.1", Port = port, ModelName = ModelName, MaxConcurrency = 1 });
        try { await server.StartAsync(ct).ConfigureAwait(false); }
        catch (IOException e)
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"the demo's teacher server cannot listen on 127.0.0.1:{port} (kept in {stateFile} so the resumed recipes match): {e.Message}", e);
        }
        if (!File.Exists(stateFile)) Runs.RunDirectory.WriteAtomic(stateFile, new JsonObject { ["port"] = port, ["model"] = ModelName }.ToJsonString());
        return new DemoTeacherServer(server, counter, port);
    }

    static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync().ConfigureAwait(false);
        _counter.Dispose(); // the local teacher's weights
    }

    sealed class CountingChatClient(IChatClient inner) : DelegatingChatClient(inner)
    {
        long _requests, _input, _output;

        public (long, long, long) Snapshot() => (Interlocked.Read(ref _requests), Interlocked.Read(ref _input), Interlocked.Read(ref _output));

        public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            var r = await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
            Count(r.Usage);
            return r;
        }

        public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
            [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            UsageDetails? usage = null;
            await foreach (var u in base.GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
            {
                foreach (var c in u.Contents.OfType<UsageContent>()) usage = c.Details;
                yield return u;
            }
            Count(usage);
        }

        void Count(UsageDetails? u)
        {
            Interlocked.Increment(ref _requests);
            Interlocked.Add(ref _input, u?.InputTokenCount ?? 0);
            Interlocked.Add(ref _output, u?.OutputTokenCount ?? 0);
        }
    }
}
