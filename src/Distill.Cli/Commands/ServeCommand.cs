using System.CommandLine;
using Microsoft.Extensions.AI;
using Distill.Chat;
using Distill.Chat.Clients;
using Distill.Chat.Serving;

namespace Distill.Cli.Commands;

/// <summary>`distill serve`: an OpenAI-compatible endpoint (chat, completions, models) on loopback.</summary>
sealed class ServeCommand : IVerb
{
    public Command Build()
    {
        var model = new Option<string?>("--model") { Description = "Model to serve: openai:MODEL[@URL] or anthropic:MODEL (a proxy), or a local model folder" };
        var adapter = new Option<string?>("--adapter") { Description = "PEFT LoRA adapter folder for a local model" };
        var fake = new Option<bool>("--fake") { Description = "Serve a deterministic fake model (for tests and load benchmarks)" };
        var host = new Option<string>("--host") { Description = "Address to bind (loopback by default)", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Port (0 = any free port)", DefaultValueFactory = _ => 8000 };
        var weights = ModelVerbOptions.Weights();
        var concurrency = new Option<int>("--concurrency") { Description = "Requests run against the model at once; others queue", DefaultValueFactory = _ => 4 };
        var command = new Command("serve", "Serve a model on an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions, /v1/models).\n" +
            "Example: distill serve --model runs/demo/student --port 8000")
        { model, adapter, fake, host, port, concurrency, weights };
        command.SetAction(async (pr, ct) =>
        {
            IChatClient client;
            string name;
            if (pr.GetValue(fake)) { client = new FakeChatClient("fake"); name = "fake"; }
            else if (pr.GetValue(model) is { } m)
            {
                var reference = ModelReference.Parse(m);
                client = ChatClientFactory.Create(reference, adapter: pr.GetValue(adapter), weights: ModelVerbOptions.ParseWeights(pr.GetValue(weights)));
                // the served model's name: the folder's name for a local model, else the remote model id
                // (not the tail of a base URL such as ".../v1")
                name = reference.Provider == ModelProvider.Local ? Path.GetFileName(Path.GetFullPath(m).TrimEnd('/')) : reference.Model;
            }
            else throw new BadInputException("give --model REF or --fake");
            await using var server = new OpenAiServer(client, new ServerOptions
            {
                Host = pr.GetValue(host)!, Port = pr.GetValue(port), ModelName = name, MaxConcurrency = Math.Max(1, pr.GetValue(concurrency)),
            });
            await server.StartAsync(ct);
            Console.Error.WriteLine($"distill serve: {name} on {server.BaseAddress}v1 (Ctrl+C to stop)");
            try { await server.WaitForShutdownAsync(ct); } catch (OperationCanceledException) { }
            return 0;
        });
        return command;
    }
}
