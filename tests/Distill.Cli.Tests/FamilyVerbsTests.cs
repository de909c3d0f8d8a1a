using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Distill.Chat.Clients;
using Distill.Chat.Serving;
using Distill.Cli.Commands;
using Distill.Models;
using Distill.Models.Generation;
using Distill.Models.Lora;
using Distill.Tensors.Autograd;

namespace Distill.Cli.Tests;

/// <summary>
/// Qwen3 and Gemma 3 through every verb on a tiny checkpoint (issue 18): init from the family's preset with the Qwen3
/// tokenizer in data/tokenizers, score and generate (checked against the library calls), LoRA and QLoRA training on the
/// seven PEFT target names, merge (logits equal base + adapter), and serve (a chat completion over HTTP, rendered with
/// the family's chat template: Qwen3's from its tokenizer_config.json, Gemma 3's written into the folder).
/// </summary>
[Collection("console")]
public class FamilyVerbsTests
{
    const string Targets = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj";

    [Theory]
    [InlineData("tiny-qwen3")]
    [InlineData("tiny-gemma3")]
    public async Task EveryVerbRunsOnTheFamily(string preset)
    {
        string root = Path.Combine(Path.GetTempPath(), "distill-family-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(root);
        try
        {
            string model = Path.Combine(root, "model");
            var (exit, stdout, err) = CliHarness.Run(new InitCommand().Build(), "--config", preset, "--tokenizer", CliHarness.Data("tokenizers", "qwen3"),
                "--out", model, "--seed", "3");
            Assert.True(exit == 0, err);
            Assert.Contains(preset == "tiny-qwen3" ? "Qwen3ForCausalLM" : "Gemma3ForCausalLM", stdout);
            if (preset == "tiny-gemma3") UseGemmaChatTemplate(model);

            // score: the CLI's numbers are the library's
            string pairs = Path.Combine(root, "pairs.jsonl"), scored = Path.Combine(root, "scored.jsonl");
            File.WriteAllLines(pairs, ["{\"prompt\": \"def add(a, b):\", \"completion\": \" return a + b\"}"]);
            (exit, _, err) = CliHarness.Run(new ScoreCommand().Build(), "--model", model, "--input", pairs, "--output", scored);
            Assert.True(exit == 0, err);
            var row = JsonNode.Parse(File.ReadAllLines(scored).Single())!;
            using (var m = ModelIO.Load(model))
            {
                var tok = Distill.Text.TokenizerLoader.Load(model);
                double lp = Scoring.CompletionLogProbs(m, tok.EncodeToIds("def add(a, b):", addSpecialTokens: true).ToArray(),
                    tok.EncodeToIds(" return a + b", addSpecialTokens: false).ToArray()).Sum();
                Assert.Equal(lp, (double)row["logprob_sum"]!, 4);
            }

            // generate: greedy, 6 tokens
            string prompts = Path.Combine(root, "prompts.jsonl"), generated = Path.Combine(root, "generated.jsonl");
            File.WriteAllLines(prompts, ["{\"prompt_ids\": [5, 17, 3]}"]);
            (exit, _, err) = CliHarness.Run(new GenerateCommand().Build(), "--model", model, "--input", prompts, "--output", generated, "--max-new-tokens", "6");
            Assert.True(exit == 0, err);
            var ids = JsonNode.Parse(File.ReadAllLines(generated).Single())!["completion_ids"]!.AsArray().Select(n => (int)n!).ToArray();
            using (var m = ModelIO.Load(model))
            {
                var eos = m.Config.EosTokenIds;
                var want = Generator.Generate(m, [5, 17, 3], new SamplingOptions { Temperature = 0, MaxNewTokens = 6, EosTokenIds = eos }).Single().Ids;
                Assert.Equal(want.ToArray(), ids.Take(want.Count()).ToArray());
            }

            // LoRA and QLoRA training on every projection, PEFT's names in the adapter
            string sft = Path.Combine(root, "sft.jsonl");
            File.WriteAllLines(sft, Enumerable.Range(0, 4).Select(i => $"{{\"prompt_ids\": [{i + 5}, 7, 9], \"completion_ids\": [11, {i + 12}, 13]}}"));
            foreach (var q in new[] { false, true })
            {
                string run = Path.Combine(root, q ? "qlora" : "lora");
                string[] args = ["--method", "sft", "--data", sft, "--model", model, "--out", run, "--batch", "2", "--max-steps", "2", "--threads", "1",
                    "--lora-r", "4", "--lora-targets", Targets, "--lr", "1e-2"];
                (exit, _, err) = CliHarness.Run(new TrainCommand().Build(), q ? [.. args, "--qlora"] : args);
                Assert.True(exit == 0, err);
                var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "adapter", "adapter_config.json")))!;
                Assert.Equal(Targets.Split(',').Order(), cfg["target_modules"]!.AsArray().Select(n => (string)n!).Order());
            }

            // merge: the merged folder's logits equal base + adapter
            string merged = Path.Combine(root, "merged"), adapter = Path.Combine(root, "lora", "adapter");
            (exit, _, err) = CliHarness.Run(new MergeCommand().Build(), "--model", model, "--adapter", adapter, "--out", merged);
            Assert.True(exit == 0, err);
            int[] probe = [5, 17, 3, 42, 8, 63];
            float[] Logits(CausalLM m) { using var t = new Tape { NoGrad = true }; return m.Forward(t, probe, 1).Span.ToArray(); }
            using (var withAdapter = ModelIO.Load(model))
            using (var mergedModel = ModelIO.Load(merged))
            {
                PeftAdapter(withAdapter, adapter);
                var (a, b) = (Logits(withAdapter), Logits(mergedModel));
                Assert.True(a.Zip(b).Max(x => Math.Abs(x.First - x.Second)) < 1e-4, "merged vs adapter logits");
                using var plain = ModelIO.Load(model);
                Assert.True(a.Zip(Logits(plain)).Max(x => Math.Abs(x.First - x.Second)) > 1e-4, "the adapter was trained");
            }

            // serve: one chat completion over HTTP from the local model, prompt rendered with the family's template
            var client = LocalModelChatClient.Load(model);
            await using var server = new OpenAiServer(client, new ServerOptions { Port = 0, ModelName = preset });
            await server.StartAsync();
            using var http = new HttpClient { BaseAddress = server.BaseAddress };
            var response = await http.PostAsJsonAsync("v1/chat/completions", new JsonObject
            {
                ["model"] = preset, ["max_tokens"] = 4, ["temperature"] = 0,
                ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Hello!" }),
            });
            string body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, body);
            Assert.Equal("assistant", (string)JsonNode.Parse(body)!["choices"]![0]!["message"]!["role"]!);
            var tokenizer = Distill.Text.TokenizerLoader.Load(model);
            string rendered = tokenizer.Decode(client.PromptIds([new Microsoft.Extensions.AI.ChatMessage(Microsoft.Extensions.AI.ChatRole.User, "Hello!")]));
            Assert.Equal(preset == "tiny-qwen3" ? "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n" : "<bos><start_of_turn>user\nHello!<end_of_turn>\n<start_of_turn>model\n",
                rendered);
        }
        finally { Directory.Delete(root, true); }
    }

    static void PeftAdapter(CausalLM model, string dir) => LoraModel.Load(model, dir);

    /// <summary>
    /// Gemma 3's chat template (google/gemma-3-*-it tokenizer_config.json; checked against @huggingface/jinja in
    /// Distill.Text.Tests) over the Qwen3 tokenizer's files: Gemma's own tokenizer is not in the repository. Its special
    /// tokens are plain text to this tokenizer, which is enough to see the template reach the served prompt.
    /// </summary>
    static void UseGemmaChatTemplate(string dir)
    {
        var templates = JsonNode.Parse(File.ReadAllText(Path.Combine(CliHarness.Root(), "tests", "Distill.Text.Tests", "data", "chat_templates.json")))!;
        string path = Path.Combine(dir, "tokenizer_config.json");
        var cfg = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        cfg["chat_template"] = (string)templates["gemma3"]!["chat_template"]!;
        cfg["bos_token"] = "<bos>";
        cfg["eos_token"] = "<eos>";
        File.WriteAllText(path, cfg.ToJsonString());
    }
}
