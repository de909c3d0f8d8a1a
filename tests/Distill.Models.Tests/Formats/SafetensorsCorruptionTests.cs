using System.Buffers.Binary;
using System.Text;
using Distill.Models.Formats;

namespace Distill.Models.Tests.Formats;

/// <summary>
/// Malformed files must fail at open with a message naming the file and the offending tensor, before any
/// tensor byte is read (the validation rules of the reference Rust reader; see SafetensorsHeader).
/// </summary>
public class SafetensorsCorruptionTests
{
    static string Build(string header, int dataBytes, ulong? headerLengthOverride = null, int truncate = 0)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLengthOverride ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        var path = Path.Combine(TestPaths.TempDir(), "bad.safetensors");
        File.WriteAllBytes(path, bytes[..(bytes.Length - truncate)]);
        return path;
    }

    static string Fails(string path)
    {
        var e = Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(path).Dispose());
        return e.Message;
    }

    const string Good = """{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[16,22]}}""";

    [Fact]
    public void TheGoodFileOpens()
    {
        using var f = SafetensorsFile.Open(Build(Good, 22));
        Assert.Equal([0f, 0f, 0f, 0f], f.ReadFloat32("a"));
        Assert.Equal(3, f.ReadFloat32("b").Length);
    }

    [Fact]
    public void TruncatedDataIsRejected() => Assert.Contains("tensor 'b': data_offsets end at 22, past the data section's 21 bytes", Fails(Build(Good, 22, truncate: 1)));

    [Fact]
    public void TrailingBytesAreRejected() => Assert.Contains("cover 22 of the data section's 30 bytes", Fails(Build(Good, 30)));

    [Fact]
    public void TooShortForTheLengthField()
    {
        var path = Path.Combine(TestPaths.TempDir(), "tiny.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Contains("too short", Fails(path));
        File.WriteAllBytes(path, []);
        Assert.Contains("too short", Fails(path));
    }

    [Fact]
    public void HeaderLengthAboveTheLimit() => Assert.Contains("exceeds the limit", Fails(Build(Good, 22, headerLengthOverride: 200_000_000)));

    [Fact]
    public void HeaderLengthPastTheEnd() => Assert.Contains("runs past the end", Fails(Build(Good, 22, headerLengthOverride: 5000)));

    [Fact]
    public void HeaderLengthOfTheMaximumULongDoesNotOverflow() => Assert.Contains("exceeds the limit", Fails(Build(Good, 22, headerLengthOverride: ulong.MaxValue)));

    [Fact]
    public void BadJson() => Assert.Contains("not valid JSON", Fails(Build("""{"a":{"dtype":"F32",""", 0)));

    [Fact]
    public void HeaderMustStartWithABrace() => Assert.Contains("does not start with '{'", Fails(Build(""" {"a":1}""", 0)));

    [Fact]
    public void HeaderMustBeAnObjectOfObjects() => Assert.Contains("tensor 'a': entry is not an object", Fails(Build("""{"a":1}""", 0)));

    [Fact]
    public void UnknownDType() => Assert.Contains("tensor 'a': unknown dtype 'F12'", Fails(Build("""{"a":{"dtype":"F12","shape":[1],"data_offsets":[0,4]}}""", 4)));

    [Fact]
    public void WrongSize()
        => Assert.Contains("tensor 'a': shape [2, 3] × F32 is 24 bytes but data_offsets span 16",
            Fails(Build("""{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}}""", 16)));

    [Fact]
    public void OverlappingRanges()
        => Assert.Contains("overlap the previous tensor",
            Fails(Build("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", 16)));

    [Fact]
    public void HolesAreRejectedAsTheSpecRequiresContiguity()
        => Assert.Contains("tensor 'b': data_offsets [20, 28] leave a hole after byte 16",
            Fails(Build("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[20,28]}}""", 28)));

    [Fact]
    public void RangesPastTheFile()
        => Assert.Contains("tensor 'a': data_offsets end at 4000",
            Fails(Build("""{"a":{"dtype":"F32","shape":[1000],"data_offsets":[0,4000]}}""", 16)));

    [Fact]
    public void EndBeforeBegin()
        => Assert.Contains("end before they begin", Fails(Build("""{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"c":{"dtype":"U8","shape":[1],"data_offsets":[1,0]}}""", 1)));

    [Fact]
    public void NegativeOffsets()
        => Assert.Contains("tensor 'a': 'data_offsets' must hold non-negative integers", Fails(Build("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}""", 4)));

    [Fact]
    public void ShapeOverflow()
        => Assert.Contains("overflows", Fails(Build("""{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}""", 8)));

    [Fact]
    public void MetadataMustBeStrings()
        => Assert.Contains("__metadata__ key 'n' must be a string", Fails(Build("""{"__metadata__":{"n":1},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}""", 1)));

    [Fact]
    public void DuplicateTensorNames()
        => Assert.Contains("tensor 'a' appears twice", Fails(Build("""{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}""", 2)));

    [Fact]
    public void MissingField() => Assert.Contains("tensor 'a': missing array field 'data_offsets'", Fails(Build("""{"a":{"dtype":"U8","shape":[1]}}""", 1)));

    [Fact]
    public void IndexMayNotPointOutsideTheFolder()
    {
        var dir = TestPaths.TempDir();
        File.WriteAllText(Path.Combine(dir, CheckpointNames.Index), """{"weight_map":{"w":"../secret.safetensors"}}""");
        var e = Assert.Throws<ModelFormatException>(() => Checkpoint.Open(dir));
        Assert.Contains("points outside the folder", e.Message);
    }

    [Fact]
    public void IndexAndShardsMustAgree()
    {
        var dir = TestPaths.TempDir();
        SafetensorsWriter.Write(Path.Combine(dir, "s1.safetensors"), [new NamedTensor("w", [1], new float[] { 1 }), new NamedTensor("extra", [1], new float[] { 2 })]);
        File.WriteAllText(Path.Combine(dir, CheckpointNames.Index), """{"weight_map":{"w":"s1.safetensors","v":"s1.safetensors"}}""");
        var e = Assert.Throws<ModelFormatException>(() => Checkpoint.Open(dir));
        Assert.Contains("tensor 'v' is listed in model.safetensors.index.json but not stored", e.Message);
        File.WriteAllText(Path.Combine(dir, CheckpointNames.Index), """{"weight_map":{"w":"s1.safetensors"}}""");
        e = Assert.Throws<ModelFormatException>(() => Checkpoint.Open(dir));
        Assert.Contains("tensor 'extra' is stored here but", e.Message);
        File.WriteAllText(Path.Combine(dir, CheckpointNames.Index), """{"weight_map":{"w":"s2.safetensors"}}""");
        e = Assert.Throws<ModelFormatException>(() => Checkpoint.Open(dir));
        Assert.Contains("shard 's2.safetensors' (holding 'w') does not exist", e.Message);
    }

    [Fact]
    public void AFolderWithoutWeights()
        => Assert.Contains("neither model.safetensors", Assert.Throws<ModelFormatException>(() => Checkpoint.Open(TestPaths.TempDir())).Message);
}
