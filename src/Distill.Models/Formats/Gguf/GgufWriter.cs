using System.Text;

namespace Distill.Models.Formats.Gguf;

/// <summary>A tensor to write: float32 values in PyTorch order, stored as <see cref="Type"/>.</summary>
public sealed record GgufTensor(string Name, long[] Shape, GgmlType Type, ReadOnlyMemory<float> Data);

/// <summary>
/// Writes GGUF version 3 (ggml docs/gguf.md): magic "GGUF", version, tensor count, metadata count (little-endian),
/// the key/values, the tensor infos (name, n_dims, ne[] innermost first, type, offset from the data section), padding
/// to general.alignment, then each tensor's bytes at its offset, every offset a multiple of the alignment.
/// The file is written to a temporary name and renamed, so a partial file never has the final name.
/// </summary>
public static class GgufWriter
{
    public const uint Magic = 0x46554747; // "GGUF" little-endian
    public const uint Version = 3;
    public const uint DefaultAlignment = 32;

    public static void Write(string path, IReadOnlyList<GgufEntry> metadata, IReadOnlyList<GgufTensor> tensors)
    {
        uint alignment = metadata.FirstOrDefault(e => e.Key == "general.alignment")?.Value is uint a ? a : DefaultAlignment;
        if (alignment == 0 || (alignment & (alignment - 1)) != 0) throw new ArgumentException($"general.alignment must be a power of two, got {alignment}");
        var dupKey = metadata.GroupBy(e => e.Key).FirstOrDefault(g => g.Count() > 1);
        if (dupKey is not null) throw new ArgumentException($"metadata key '{dupKey.Key}' is given twice");
        var dupTensor = tensors.GroupBy(t => t.Name).FirstOrDefault(g => g.Count() > 1);
        if (dupTensor is not null) throw new ArgumentException($"tensor '{dupTensor.Key}' is given twice");

        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = path + ".tmp";
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        using (var w = new BinaryWriter(fs, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Magic);
            w.Write(Version);
            w.Write((ulong)tensors.Count);
            w.Write((ulong)metadata.Count);
            foreach (var e in metadata) WriteEntry(w, e);
            ulong offset = 0;
            foreach (var t in tensors)
            {
                long n = t.Shape.Aggregate(1L, (x, y) => x * y);
                if (n != t.Data.Length) throw new ArgumentException($"tensor '{t.Name}': shape [{string.Join(", ", t.Shape)}] has {n} elements but {t.Data.Length} values were given");
                var (bs, _) = GgmlTypes.Traits(t.Type);
                if (t.Shape[^1] % bs != 0) throw new ArgumentException($"tensor '{t.Name}': rows of {t.Shape[^1]} are not whole {t.Type} blocks of {bs}");
                WriteString(w, t.Name);
                w.Write((uint)t.Shape.Length);
                for (int d = t.Shape.Length - 1; d >= 0; d--) w.Write((ulong)t.Shape[d]);
                w.Write((uint)t.Type);
                w.Write(offset);
                offset += Align((ulong)GgmlTypes.Bytes(t.Type, n), alignment);
            }
            w.Flush();
            Pad(fs, alignment);
            long dataStart = fs.Position;
            foreach (var t in tensors)
            {
                var bytes = GgmlTypes.Encode(t.Type, t.Data.Span);
                fs.Write(bytes);
                Pad(fs, alignment, dataStart);
            }
        }
        File.Move(tmp, path, overwrite: true);
    }

    static ulong Align(ulong n, uint alignment) => (n + alignment - 1) / alignment * alignment;

    static void Pad(Stream s, uint alignment, long origin = 0)
    {
        long rel = s.Position - origin;
        long pad = (long)Align((ulong)rel, alignment) - rel;
        for (long i = 0; i < pad; i++) s.WriteByte(0);
    }

    static void WriteString(BinaryWriter w, string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)b.Length);
        w.Write(b);
    }

    static void WriteEntry(BinaryWriter w, GgufEntry e)
    {
        WriteString(w, e.Key);
        w.Write((uint)e.Type);
        if (e.Type != GgufValueType.Array)
        {
            WriteScalar(w, e.Type, e.Value, e.Key);
            return;
        }
        var arr = (Array)e.Value;
        w.Write((uint)e.ElementType);
        w.Write((ulong)arr.Length);
        foreach (var v in arr) WriteScalar(w, e.ElementType, v!, e.Key);
    }

    static void WriteScalar(BinaryWriter w, GgufValueType t, object v, string key)
    {
        switch (t, v)
        {
            case (GgufValueType.UInt8, byte x): w.Write(x); break;
            case (GgufValueType.Int8, sbyte x): w.Write(x); break;
            case (GgufValueType.UInt16, ushort x): w.Write(x); break;
            case (GgufValueType.Int16, short x): w.Write(x); break;
            case (GgufValueType.UInt32, uint x): w.Write(x); break;
            case (GgufValueType.Int32, int x): w.Write(x); break;
            case (GgufValueType.Float32, float x): w.Write(x); break;
            case (GgufValueType.Bool, bool x): w.Write((byte)(x ? 1 : 0)); break;
            case (GgufValueType.String, string x): WriteString(w, x); break;
            case (GgufValueType.UInt64, ulong x): w.Write(x); break;
            case (GgufValueType.Int64, long x): w.Write(x); break;
            case (GgufValueType.Float64, double x): w.Write(x); break;
            default: throw new ArgumentException($"metadata '{key}': a {v.GetType().Name} cannot be written as {t}");
        }
    }
}
