using System.Diagnostics;
using System.Text.Json;
using Distill.Models;
using Distill.Models.Formats.Gguf;

namespace Distill.Export.Tests;

/// <summary>
/// Issue 17 §2: an independent parser reads every metadata key of an export back. tools/gguf/read-gguf.mjs runs Hugging
/// Face's @huggingface/gguf (pinned in tools/gguf/package-lock.json, installed by .ci/install.sh) on the file and prints
/// the header, each key with its GGUF type and value, and the tensor infos; every key Distill wrote must come back with
/// the same type and value, and no other key; tensor names, shapes, types and offsets likewise.
/// </summary>
public class IndependentParserTests
{
    static JsonElement ReadWithHuggingFaceGguf(string file)
    {
        var tool = Path.Combine(TestPaths.RepoRoot, "tools", "gguf");
        if (!Directory.Exists(Path.Combine(tool, "node_modules", "@huggingface", "gguf")))
            throw new InvalidOperationException($"{tool}/node_modules is missing: run `bash .ci/install.sh` (npm ci in tools/gguf)");
        var psi = new ProcessStartInfo("node", [Path.Combine(tool, "read-gguf.mjs"), file]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = tool };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"read-gguf.mjs failed: {stderr}");
        return JsonDocument.Parse(stdout.Result).RootElement.Clone();
    }

    [Theory]
    [InlineData("llama", "q8_0"), InlineData("gpt2", "f16"), InlineData("qwen2", "bf16"), InlineData("llama3", "f32")]
    [InlineData("qwen3", "f16"), InlineData("gemma3", "q8_0")]
    public void EveryMetadataKeyReadsBackWithItsTypeAndValue(string family, string dtype)
    {
        var dir = TinyModels.Folder(family, trained: false);
        var path = Path.Combine(TestPaths.TempDir(), $"{family}.gguf");
        using (var model = ModelIO.Load(dir)) GgufExport.Write(model, dir, path, dtype);
        var ours = GgufFile.Open(path);
        var theirs = ReadWithHuggingFaceGguf(path);

        Assert.Equal(3, theirs.GetProperty("version").GetInt32());
        Assert.Equal(ours.Tensors.Count.ToString(), theirs.GetProperty("tensor_count").ToString().Trim('"'));
        var meta = theirs.GetProperty("metadata");
        Assert.Equal(ours.Metadata.Select(e => e.Key).Order(), meta.EnumerateObject().Select(p => p.Name).Order());
        foreach (var e in ours.Metadata)
        {
            var t = meta.GetProperty(e.Key);
            Assert.True((int)e.Type == t.GetProperty("type").GetInt32(), $"{e.Key}: type {e.Type} vs {t.GetProperty("type")}");
            var v = t.GetProperty("value");
            switch (e.Value)
            {
                case string s: Assert.Equal(s, v.GetString()); break;
                case bool b: Assert.Equal(b, v.GetBoolean()); break;
                case uint u: Assert.Equal(u, v.GetUInt32()); break;
                case float f: Assert.Equal(f, v.GetSingle()); break;
                case string[] ss: Assert.Equal(ss, v.EnumerateArray().Select(x => x.GetString()!).ToArray()); break;
                case int[] ii: Assert.Equal(ii, v.EnumerateArray().Select(x => x.GetInt32()).ToArray()); break;
                case float[] ff: Assert.Equal(ff, v.EnumerateArray().Select(x => x.GetSingle()).ToArray()); break;
                default: Assert.Fail($"{e.Key}: unexpected value type {e.Value.GetType()}"); break;
            }
            if (e.Type == GgufValueType.Array) Assert.Equal((int)e.ElementType, t.GetProperty("subType").GetInt32());
        }
        var tensors = theirs.GetProperty("tensors").EnumerateArray().ToList();
        Assert.Equal(ours.Tensors.Count, tensors.Count);
        for (int i = 0; i < tensors.Count; i++)
        {
            var (o, t) = (ours.Tensors[i], tensors[i]);
            Assert.Equal(o.Name, t.GetProperty("name").GetString());
            // ggml's ne[] (innermost first) = the PyTorch shape reversed
            Assert.Equal(o.Shape.Reverse().Select(d => d.ToString()), t.GetProperty("shape").EnumerateArray().Select(x => x.ToString().Trim('"')));
            Assert.Equal((int)o.Type, t.GetProperty("dtype").GetInt32());
            Assert.Equal(o.Offset.ToString(), t.GetProperty("offset").ToString().Trim('"'));
        }
        Assert.Equal(ours.DataStart.ToString(), theirs.GetProperty("tensor_data_offset").ToString().Trim('"'));
    }
}
