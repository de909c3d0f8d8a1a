using System.Text.Json;
using Distill.Models.Formats;

namespace Distill.Models.Tests.Formats;

/// <summary>The reader and writer against files written by reference/safetensors_spec.py (torch + struct + json).</summary>
public class SafetensorsInteropTests
{
    static Dictionary<string, (long[] Shape, float[] Values)> Expected(string tag)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(TestPaths.Reference("safetensors", "expected.json")));
        var result = new Dictionary<string, (long[], float[])>();
        foreach (var t in doc.RootElement.GetProperty(tag).EnumerateObject())
            result[t.Name] = (t.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray(),
                t.Value.GetProperty("bits").EnumerateArray().Select(e => BitConverter.Int32BitsToSingle(e.GetInt32())).ToArray());
        return result;
    }

    static void AssertBitsEqual(float[] expected, float[] actual, string name)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"{name}[{i}]: expected {expected[i]:R}, got {actual[i]:R}");
    }

    [Theory]
    [InlineData("f32")]
    [InlineData("f16")]
    [InlineData("bf16")]
    [InlineData("mixed")]
    public void ReadsFilesOfTheReferenceWriterExactly(string tag)
    {
        using var file = SafetensorsFile.Open(TestPaths.Reference("safetensors", tag + ".safetensors"));
        var expected = Expected(tag);
        foreach (var (name, (shape, values)) in expected)
        {
            Assert.Equal(shape, file.Info(name).Shape);
            AssertBitsEqual(values, file.ReadFloat32(name), name);
        }
        Assert.Equal("pt", file.Metadata["format"]);
        if (tag == "mixed")
        {
            Assert.Equal(SafetensorsDType.I64, file.Info("ids").DType);
            var e = Assert.Throws<ModelFormatException>(() => file.ReadFloat32("ids"));
            Assert.Contains("'ids'", e.Message);
            Assert.Contains("I64", e.Message);
        }
    }

    [Theory]
    [InlineData("f16", SafetensorsDType.F16)]
    [InlineData("bf16", SafetensorsDType.BF16)]
    [InlineData("f32", SafetensorsDType.F32)]
    public void WriterProducesTheReferenceBytes(string tag, SafetensorsDType dtype)
    {
        // Source values are the float32 originals; the conversion (round to nearest even) and the layout must
        // both match torch + the spec writer byte for byte.
        var source = Expected("f32");
        string[] order = ["model.embed_tokens.weight", "model.norm.weight", "scalar", "empty", "special"];
        var tensors = order.Select(n => new NamedTensor(n, source[n].Shape, source[n].Values)).ToList();
        var dir = TestPaths.TempDir();
        var path = Path.Combine(dir, "x.safetensors");
        SafetensorsWriter.Write(path, tensors, dtype);
        Assert.Equal(File.ReadAllBytes(TestPaths.Reference("safetensors", tag + ".safetensors")), File.ReadAllBytes(path));
    }

    [Fact]
    public void ReadsAReferenceShardedCheckpoint()
    {
        using var ckpt = Checkpoint.Open(TestPaths.Reference("safetensors", "sharded"));
        var expected = Expected("sharded");
        Assert.Equal(expected.Keys.Order(), ckpt.Names.Order());
        foreach (var (name, (shape, values)) in expected)
            AssertBitsEqual(values, ckpt.ReadFloat32(name, shape), name);
        Assert.EndsWith("model-00002-of-00002.safetensors", ckpt.FileOf("lm_head.weight").Path);
    }

    [Fact]
    public void ShardedWriteRoundTrips()
    {
        var rng = new Random(3);
        var tensors = Enumerable.Range(0, 5).Select(i =>
            new NamedTensor($"t{i}", [3, i + 1], Enumerable.Range(0, 3 * (i + 1)).Select(_ => (float)rng.NextDouble()).ToArray())).ToList();
        var dir = TestPaths.TempDir();
        SafetensorsWriter.WriteCheckpoint(dir, tensors, SafetensorsDType.F32, maxShardBytes: 40);
        Assert.True(File.Exists(Path.Combine(dir, CheckpointNames.Index)));
        Assert.True(Directory.GetFiles(dir, "model-*-of-*.safetensors").Length >= 3);
        using var ckpt = Checkpoint.Open(dir);
        foreach (var t in tensors) Assert.Equal(t.Data.ToArray(), ckpt.ReadFloat32(t.Name, t.Shape));
        var e = Assert.Throws<ModelFormatException>(() => ckpt.ReadFloat32("t1", 2, 3));
        Assert.Contains("'t1'", e.Message);
        Assert.Contains("[3, 2]", e.Message);
    }

    [Fact]
    public void MissingAndUnexpectedNamesAreNamed()
    {
        using var ckpt = Checkpoint.Open(TestPaths.Reference("safetensors", "sharded"));
        var e = Assert.Throws<ModelFormatException>(() => ckpt.CheckNames(["model.norm.weight", "model.layers.0.mlp.up_proj.weight"], ["lm_head.weight", "model.embed_tokens.weight"]));
        Assert.Contains("missing tensor 'model.layers.0.mlp.up_proj.weight'", e.Message);
        e = Assert.Throws<ModelFormatException>(() => ckpt.CheckNames(["model.norm.weight", "model.embed_tokens.weight"]));
        Assert.Contains("unexpected tensor 'lm_head.weight'", e.Message);
        Assert.Contains("model-00002-of-00002.safetensors", e.Message);
        ckpt.CheckNames(["model.norm.weight", "model.embed_tokens.weight"], ["lm_head.weight"]);
    }

    [Fact]
    public void BFloat16RoundsToNearestEven()
    {
        Assert.Equal(0x3F80, SafetensorsDTypes.ToBFloat16Bits(1.0f));
        Assert.Equal(0x3F80, SafetensorsDTypes.ToBFloat16Bits(BitConverter.Int32BitsToSingle(0x3F808000))); // tie → even (down)
        Assert.Equal(0x3F82, SafetensorsDTypes.ToBFloat16Bits(BitConverter.Int32BitsToSingle(0x3F818000))); // tie → even (up)
        Assert.Equal(0x3F81, SafetensorsDTypes.ToBFloat16Bits(BitConverter.Int32BitsToSingle(0x3F808001)));
        Assert.Equal(0x7FC0, SafetensorsDTypes.ToBFloat16Bits(float.NaN));
        Assert.Equal(0x7F80, SafetensorsDTypes.ToBFloat16Bits(float.PositiveInfinity));
    }
}
