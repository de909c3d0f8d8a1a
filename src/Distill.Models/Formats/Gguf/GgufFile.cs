using System.Text;

namespace Distill.Models.Formats.Gguf;

/// <summary>
/// Reads a GGUF v2/v3 file (ggml docs/gguf.md): metadata, tensor infos and tensors dequantized to float32. Used by
/// the tests to read exports back and by importers. Every failure names the file and what was wrong; lengths and
/// offsets are checked against the file size before anything is allocated.
/// </summary>
public sealed class GgufFile
{
    public string Path { get; }
    public uint Version { get; }
    public IReadOnlyList<GgufEntry> Metadata { get; }
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }
    public uint Alignment { get; }
    /// <summary>Byte offset of the data section (tensor offsets are relative to it).</summary>
    public long DataStart { get; }

    GgufFile(string path, uint version, List<GgufEntry> metadata, List<GgufTensorInfo> tensors, uint alignment, long dataStart)
    {
        Path = path; Version = version; Metadata = metadata; Tensors = tensors; Alignment = alignment; DataStart = dataStart;
    }

    public GgufEntry? Find(string key) => Metadata.FirstOrDefault(e => e.Key == key);
    public object Get(string key) => Find(key)?.Value ?? throw new ModelFormatException($"{Path}: no metadata key '{key}'");
    public GgufTensorInfo Tensor(string name) => Tensors.FirstOrDefault(t => t.Name == name) ?? throw new ModelFormatException($"{Path}: no tensor '{name}'");

    public static GgufFile Open(string path)
    {
        if (!File.Exists(path)) throw new ModelFormatException($"{path}: no such file");
        using var fs = File.OpenRead(path);
        using var r = new BinaryReader(fs, Encoding.UTF8);
        long size = fs.Length;
        string At() => $"{path} (byte {fs.Position})";
        try
        {
            if (size < 24 || r.ReadUInt32() != GgufWriter.Magic) throw new ModelFormatException($"{path}: not a GGUF file (no 'GGUF' magic)");
            uint version = r.ReadUInt32();
            if (version is not (2 or 3)) throw new ModelFormatException($"{path}: GGUF version {version} is not supported (2 or 3)");
            ulong nTensors = r.ReadUInt64(), nKv = r.ReadUInt64();
            if (nTensors > (ulong)size || nKv > (ulong)size) throw new ModelFormatException($"{path}: header counts ({nTensors} tensors, {nKv} keys) exceed the file");
            var metadata = new List<GgufEntry>();
            var keys = new HashSet<string>(StringComparer.Ordinal);
            for (ulong i = 0; i < nKv; i++)
            {
                string key = ReadString(r, size, At);
                if (!keys.Add(key)) throw new ModelFormatException($"{At()}: metadata key '{key}' appears twice");
                var type = (GgufValueType)r.ReadUInt32();
                if (type != GgufValueType.Array) { metadata.Add(new GgufEntry(key, type, ReadScalar(r, type, size, At, key))); continue; }
                var et = (GgufValueType)r.ReadUInt32();
                ulong n = r.ReadUInt64();
                if (n > (ulong)(size - fs.Position)) throw new ModelFormatException($"{At()}: array '{key}' of {n} elements exceeds the file");
                metadata.Add(new GgufEntry(key, type, ReadArray(r, et, (int)n, size, At, key), et));
            }
            uint alignment = metadata.FirstOrDefault(e => e.Key == "general.alignment")?.Value is uint a ? a : GgufWriter.DefaultAlignment;
            if (alignment == 0 || (alignment & (alignment - 1)) != 0) throw new ModelFormatException($"{path}: general.alignment {alignment} is not a power of two");
            var tensors = new List<GgufTensorInfo>();
            for (ulong i = 0; i < nTensors; i++)
            {
                string name = ReadString(r, size, At);
                uint nDims = r.ReadUInt32();
                if (nDims is 0 or > 4) throw new ModelFormatException($"{At()}: tensor '{name}' has {nDims} dimensions (1 to 4)");
                var ne = new long[nDims];
                for (int d = 0; d < nDims; d++) ne[d] = checked((long)r.ReadUInt64());
                uint type = r.ReadUInt32();
                if (!GgmlTypes.IsKnown(type)) throw new ModelFormatException($"{At()}: tensor '{name}' has ggml type {type}, which Distill does not read (F32, F16, BF16, Q8_0)");
                ulong offset = r.ReadUInt64();
                if (offset % alignment != 0) throw new ModelFormatException($"{path}: tensor '{name}' offset {offset} is not a multiple of the alignment {alignment}");
                tensors.Add(new GgufTensorInfo(name, ne.Reverse().ToArray(), (GgmlType)type, offset));
            }
            long dataStart = (fs.Position + alignment - 1) / alignment * alignment;
            foreach (var t in tensors)
            {
                if (t.Shape[^1] % GgmlTypes.Traits(t.Type).BlockSize != 0) throw new ModelFormatException($"{path}: tensor '{t.Name}' rows are not whole {t.Type} blocks");
                if (dataStart + (long)t.Offset + t.Bytes > size) throw new ModelFormatException($"{path}: tensor '{t.Name}' ends past the end of the file");
            }
            var dup = tensors.GroupBy(t => t.Name).FirstOrDefault(g => g.Count() > 1);
            if (dup is not null) throw new ModelFormatException($"{path}: tensor '{dup.Key}' appears twice");
            return new GgufFile(path, version, metadata, tensors, alignment, dataStart);
        }
        catch (EndOfStreamException)
        {
            throw new ModelFormatException($"{path}: truncated (ends inside the header)");
        }
    }

    /// <summary>A tensor's values as float32 (dequantized), in PyTorch order.</summary>
    public float[] ReadFloat32(string name)
    {
        var t = Tensor(name);
        var bytes = new byte[t.Bytes];
        using (var fs = File.OpenRead(Path))
        {
            fs.Position = DataStart + (long)t.Offset;
            fs.ReadExactly(bytes);
        }
        var values = new float[t.Elements];
        GgmlTypes.Decode(t.Type, bytes, values);
        return values;
    }

    static string ReadString(BinaryReader r, long size, Func<string> at)
    {
        ulong n = r.ReadUInt64();
        if (n > (ulong)(size - r.BaseStream.Position)) throw new ModelFormatException($"{at()}: string of {n} bytes exceeds the file");
        try { return new UTF8Encoding(false, true).GetString(r.ReadBytes((int)n)); }
        catch (DecoderFallbackException) { throw new ModelFormatException($"{at()}: string is not valid UTF-8"); }
    }

    static object ReadScalar(BinaryReader r, GgufValueType t, long size, Func<string> at, string key) => t switch
    {
        GgufValueType.UInt8 => r.ReadByte(),
        GgufValueType.Int8 => r.ReadSByte(),
        GgufValueType.UInt16 => r.ReadUInt16(),
        GgufValueType.Int16 => r.ReadInt16(),
        GgufValueType.UInt32 => r.ReadUInt32(),
        GgufValueType.Int32 => r.ReadInt32(),
        GgufValueType.Float32 => r.ReadSingle(),
        GgufValueType.Bool => r.ReadByte() switch { 0 => false, 1 => true, var b => throw new ModelFormatException($"{at()}: '{key}' bool byte {b}") },
        GgufValueType.String => ReadString(r, size, at),
        GgufValueType.UInt64 => r.ReadUInt64(),
        GgufValueType.Int64 => r.ReadInt64(),
        GgufValueType.Float64 => r.ReadDouble(),
        _ => throw new ModelFormatException($"{at()}: '{key}' has unknown value type {(uint)t}"),
    };

    static Array ReadArray(BinaryReader r, GgufValueType t, int n, long size, Func<string> at, string key)
    {
        Array MakeArray<T>() { var a = new T[n]; for (int i = 0; i < n; i++) a[i] = (T)ReadScalar(r, t, size, at, key); return a; }
        return t switch
        {
            GgufValueType.UInt8 => MakeArray<byte>(),
            GgufValueType.Int8 => MakeArray<sbyte>(),
            GgufValueType.UInt16 => MakeArray<ushort>(),
            GgufValueType.Int16 => MakeArray<short>(),
            GgufValueType.UInt32 => MakeArray<uint>(),
            GgufValueType.Int32 => MakeArray<int>(),
            GgufValueType.Float32 => MakeArray<float>(),
            GgufValueType.Bool => MakeArray<bool>(),
            GgufValueType.String => MakeArray<string>(),
            GgufValueType.UInt64 => MakeArray<ulong>(),
            GgufValueType.Int64 => MakeArray<long>(),
            GgufValueType.Float64 => MakeArray<double>(),
            _ => throw new ModelFormatException($"{at()}: array '{key}' has unsupported element type {(uint)t}"),
        };
    }
}
