using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Distill.Methods.Tests.Runs;

/// <summary>
/// An OpenAI-compatible /v1/chat/completions endpoint on 127.0.0.1 that fails on purpose. Raw
/// HTTP/1.1 over TCP (as tests/Distill.Chat.Tests' FaultServer) so that a dropped connection is a
/// real reset. <see cref="Decide"/> chooses each answer from the request (the prompt text and the
/// headers), so failures hit chosen prompts whatever the order of concurrent requests.
/// </summary>
sealed class FaultEndpoint : IDisposable
{
    public enum Kind { Answer, Status, Reset, Hang }

    public sealed record Reply(Kind Kind, int Status = 200, string? Body = null);

    readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    readonly CancellationTokenSource _stop = new();
    int _requests;
    public int Requests => Volatile.Read(ref _requests);
    public List<string> Seen { get; } = [];
    public Func<string, Reply> Decide { get; set; } = _ => new Reply(Kind.Answer);
    public Uri BaseUrl { get; }

    public FaultEndpoint()
    {
        _listener.Start();
        BaseUrl = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/v1");
        _ = Task.Run(Loop);
    }

    /// <summary>The user message of a request body (the prompt), for Decide functions and answers.</summary>
    public static string Prompt(string request)
    {
        var m = Regex.Match(request, "\"role\":\"user\",\"content\":\"((?:[^\"\\\\]|\\\\.)*)\"");
        return m.Success ? System.Text.Json.JsonSerializer.Deserialize<string>("\"" + m.Groups[1].Value + "\"")! : "";
    }

    public static string Completion(string text) => "{\"id\":\"c\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"teacher\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
        + System.Text.Json.JsonSerializer.Serialize(text) + "},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15}}";

    async Task Loop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); } catch { return; }
            _ = Task.Run(() => Serve(client));
        }
    }

    async Task Serve(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        try
        {
            while (await ReadRequest(stream) is { } request)
            {
                Interlocked.Increment(ref _requests);
                lock (Seen) Seen.Add(request);
                var reply = Decide(request);
                if (reply.Kind == Kind.Reset) { client.Client.LingerState = new LingerOption(true, 0); client.Client.Close(); return; }
                if (reply.Kind == Kind.Hang) { await Task.Delay(TimeSpan.FromSeconds(30), _stop.Token); return; }
                var body = Encoding.UTF8.GetBytes(reply.Body ?? Completion("answer to: " + Prompt(request)));
                var head = $"HTTP/1.1 {(reply.Kind == Kind.Status ? reply.Status : 200)} X\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
                await stream.WriteAsync(body);
            }
        }
        catch (Exception) { }
    }

    static async Task<string?> ReadRequest(NetworkStream stream)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (!(head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
        {
            if (await stream.ReadAsync(one) == 0) return null;
            head.Add(one[0]);
        }
        var text = Encoding.ASCII.GetString(head.ToArray());
        var line = text.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        var body = new byte[line is null ? 0 : int.Parse(line["Content-Length:".Length..].Trim())];
        for (int read = 0; read < body.Length;)
        {
            int r = await stream.ReadAsync(body.AsMemory(read));
            if (r == 0) return null;
            read += r;
        }
        return text + Encoding.UTF8.GetString(body);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
    }
}
