using System.IO.MemoryMappedFiles;

namespace Distill.Models.Formats;

/// <summary>
/// A memory-mapped, validated safetensors file. The whole header is checked when the file is opened
/// (<see cref="SafetensorsHeader"/>), so every later read stays inside the mapping; tensors are
/// converted to float32 on request and nothing else is copied.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    MemoryMappedFile? _map;
    MemoryMappedViewAccessor? _view;
    readonly byte* _base;
    readonly long _dataStart;

    public string Path { get; }
    public IReadOnlyDictionary<string, SafetensorsTensorInfo> Tensors { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    SafetensorsFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* basePtr, long dataStart, SafetensorsHeader.Parsed parsed)
    {
        Path = path; _map = map; _view = view; _base = basePtr; _dataStart = dataStart;
        Tensors = parsed.Tensors; Metadata = parsed.Metadata;
    }

    public static SafetensorsFile Open(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"{full}: no such safetensors file", full);
        long length = new FileInfo(full).Length;
        Span<byte> first8 = stackalloc byte[8];
        if (length >= 8)
            using (var fs = File.OpenRead(full)) fs.ReadExactly(first8);
        long n = SafetensorsHeader.ReadHeaderLength(first8, length, full);
        var map = MemoryMappedFile.CreateFromFile(full, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        MemoryMappedViewAccessor? view = null;
        try
        {
            view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            p += view.PointerOffset;
            var parsed = SafetensorsHeader.Parse(new ReadOnlySpan<byte>(p + 8, checked((int)n)), length - 8 - n, full);
            return new SafetensorsFile(full, map, view, p, 8 + n, parsed);
        }
        catch
        {
            if (view is not null) { view.SafeMemoryMappedViewHandle.ReleasePointer(); view.Dispose(); }
            map.Dispose();
            throw;
        }
    }

    public SafetensorsTensorInfo Info(string name)
        => Tensors.TryGetValue(name, out var t) ? t : throw new ModelFormatException($"{Path}: no tensor '{name}'");

    /// <summary>The raw bytes of a tensor, inside the mapping (valid until Dispose).</summary>
    public ReadOnlySpan<byte> Bytes(string name)
    {
        ObjectDisposedException.ThrowIf(_view is null, this);
        var t = Info(name);
        long len = t.ByteLength;
        if (len > int.MaxValue) throw new ModelFormatException($"{Path}: tensor '{name}' is larger than 2 GB; read it in parts");
        return new ReadOnlySpan<byte>(_base + _dataStart + t.Begin, (int)len);
    }

    /// <summary>Converts tensor <paramref name="name"/> to float32 into <paramref name="dst"/> (length = element count).</summary>
    public void ReadFloat32(string name, Span<float> dst)
    {
        var t = Info(name);
        if (!SafetensorsDTypes.IsFloat32Convertible(t.DType))
            throw new ModelFormatException($"{Path}: tensor '{name}' has dtype {SafetensorsDTypes.Name(t.DType)}; only F32, F16, BF16 and F64 load as float32");
        if (dst.Length != t.ElementCount)
            throw new ModelFormatException($"{Path}: tensor '{name}' has {t.ElementCount} elements, the destination {dst.Length}");
        SafetensorsDTypes.ToFloat32(t.DType, Bytes(name), dst);
    }

    public float[] ReadFloat32(string name)
    {
        var dst = new float[checked((int)Info(name).ElementCount)];
        ReadFloat32(name, dst);
        return dst;
    }

    public void Dispose()
    {
        if (_view is null) return;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map!.Dispose();
        _view = null;
        _map = null;
    }
}
