using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Distill.Chat.Tests;

/// <summary>
/// A scripted OpenAI-like upstream on 127.0.0.1 that misbehaves on purpose: each request takes the
/// next step of the script (status, body, headers, delay, or a connection reset). Counts requests and
/// records every request's headers and body so tests can look for leaked secrets.
/// </summary>
sealed class FaultServer : IDisposable
{
    public sealed record Step(int Status = 200, string? Body = null, string? RetryAfter = null, TimeSpan Delay = default, bool Reset = false, string ContentType = "application/json");

    // Raw HTTP/1.1 over a TcpListener, so a "reset" is a real TCP RST (linger 0) and nothing else.
    readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    readonly Queue<Step> _script;
    readonly CancellationTokenSource _stop = new();
    readonly Task _loop;
    int _requests;
    public int Requests => Volatile.Read(ref _requests);
    public List<string> Seen { get; } = [];
    public Uri BaseUrl { get; }

    public FaultServer(params Step[] script)
    {
        _script = new Queue<Step>(script);
        _listener.Start();
        BaseUrl = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/v1");
        _loop = Task.Run(Loop);
    }

    public static string Completion(string text, int input = 3, int output = 2) =>
        "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"upstream\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" + text
        + "\"},\"finish_reason\":\"stop\",\"logprobs\":null}],\"usage\":{\"prompt_tokens\":" + input + ",\"completion_tokens\":" + output + ",\"total_tokens\":" + (input + output) + "}}";

    /// <summary>An OpenAI chat-completion stream (server-sent events): one chunk per piece, then finish_reason "stop" and [DONE].</summary>
    public static string Stream(params string[] pieces)
    {
        static string Chunk(string delta, string? finish) =>
            "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"upstream\",\"choices\":[{\"index\":0,\"delta\":" + delta
            + ",\"finish_reason\":" + (finish is null ? "null" : "\"" + finish + "\"") + "}]}\n\n";
        return string.Concat(pieces.Select(p => Chunk("{\"role\":\"assistant\",\"content\":\"" + p + "\"}", null))) + Chunk("{}", "stop") + "data: [DONE]\n\n";
    }

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
            while (true)
            {
                var request = await ReadRequest(stream);
                if (request is null) return;
                Interlocked.Increment(ref _requests);
                lock (Seen) Seen.Add(request);
                Step step;
                lock (_script) step = _script.Count > 0 ? _script.Dequeue() : new Step(Body: Completion("default"));
                if (step.Delay > TimeSpan.Zero) await Task.Delay(step.Delay, _stop.Token);
                if (step.Reset) { client.Client.LingerState = new LingerOption(true, 0); client.Client.Close(); return; }
                var body = Encoding.UTF8.GetBytes(step.Body ?? Completion("ok"));
                var head = $"HTTP/1.1 {step.Status} X\r\nContent-Type: {step.ContentType}\r\nContent-Length: {body.Length}\r\n"
                    + (step.RetryAfter is null ? "" : $"Retry-After: {step.RetryAfter}\r\n") + "\r\n";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
                await stream.WriteAsync(body);
            }
        }
        catch (Exception) { }
    }

    static async Task<string?> ReadRequest(NetworkStream stream)
    {
        var buffer = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            if (await stream.ReadAsync(one) == 0) return null;
            buffer.Add(one[0]);
            int n = buffer.Count;
            if (n >= 4 && buffer[n - 4] == '\r' && buffer[n - 3] == '\n' && buffer[n - 2] == '\r' && buffer[n - 1] == '\n') break;
        }
        var head = Encoding.ASCII.GetString(buffer.ToArray());
        var lengthLine = head.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        int length = lengthLine is null ? 0 : int.Parse(lengthLine["Content-Length:".Length..].Trim());
        var body = new byte[length];
        int read = 0;
        while (read < length)
        {
            int r = await stream.ReadAsync(body.AsMemory(read));
            if (r == 0) return null;
            read += r;
        }
        return head + Encoding.UTF8.GetString(body);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        try { _loop.Wait(TimeSpan.FromSeconds(2)); } catch { }
    }
}
