using System.Text;
using System.Text.Json;

namespace Distill.Models.Formats;

/// <summary>One tensor's entry in a safetensors header. Offsets are relative to the data section.</summary>
public sealed record SafetensorsTensorInfo(string Name, SafetensorsDType DType, long[] Shape, long Begin, long End)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => checked(a * b));
    public long ByteLength => End - Begin;
}

/// <summary>
/// Parses and validates a safetensors header before any tensor byte is trusted. The rules are those of
/// the reference Rust reader (huggingface/safetensors, `SafeTensors::read_metadata` and `Metadata::validate`):
/// <list type="bullet">
/// <item>8-byte little-endian header length N with N ≤ 100,000,000 (`MAX_HEADER_SIZE`, HeaderTooLarge) and
/// 8 + N ≤ file length (InvalidHeaderLength);</item>
/// <item>the header is UTF-8 JSON whose first byte is '{' (InvalidHeaderStart); trailing spaces are padding;</item>
/// <item>`__metadata__` is an optional string → string map; every other key is a tensor with a known
/// dtype, a shape of non-negative integers and `data_offsets` [begin, end];</item>
/// <item>sorted by begin, each tensor starts where the previous ended, the first at 0 (InvalidOffset): no
/// overlaps and no holes; end − begin = elements × dtype size (TensorInvalidInfo), computed without
/// overflow (ValidationOverflow);</item>
/// <item>the last end equals the data section's length (MetadataIncompleteBuffer).</item>
/// </list>
/// </summary>
public static class SafetensorsHeader
{
    public const long MaxHeaderSize = 100_000_000;

    public sealed record Parsed(IReadOnlyDictionary<string, SafetensorsTensorInfo> Tensors, IReadOnlyDictionary<string, string> Metadata);

    /// <summary>Reads N from the first 8 bytes and checks it against the file length.</summary>
    public static long ReadHeaderLength(ReadOnlySpan<byte> first8, long fileLength, string file)
    {
        if (fileLength < 8)
            throw new ModelFormatException($"{file}: {fileLength} bytes is too short for a safetensors file (the 8-byte header length is missing)");
        ulong n = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(first8);
        if (n > MaxHeaderSize)
            throw new ModelFormatException($"{file}: header length {n} exceeds the limit of {MaxHeaderSize} bytes");
        if ((long)n > fileLength - 8)
            throw new ModelFormatException($"{file}: header length {n} runs past the end of the file ({fileLength} bytes)");
        return (long)n;
    }

    /// <summary>Parses the header JSON and validates every tensor against a data section of <paramref name="dataLength"/> bytes.</summary>
    public static Parsed Parse(ReadOnlySpan<byte> header, long dataLength, string file)
    {
        if (header.Length == 0 || header[0] != (byte)'{')
            throw new ModelFormatException($"{file}: the header does not start with '{{'");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{file}: the header is not valid JSON ({e.Message})");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new ModelFormatException($"{file}: the header is not a JSON object");
            var tensors = new Dictionary<string, SafetensorsTensorInfo>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__") { ReadMetadata(prop.Value, metadata, file); continue; }
                if (tensors.ContainsKey(prop.Name))
                    throw new ModelFormatException($"{file}: tensor '{prop.Name}' appears twice in the header");
                tensors[prop.Name] = ReadTensor(prop.Name, prop.Value, file);
            }
            Validate(tensors.Values, dataLength, file);
            return new Parsed(tensors, metadata);
        }
    }

    static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string file)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException($"{file}: __metadata__ must be an object of strings");
        foreach (var m in value.EnumerateObject())
        {
            if (m.Value.ValueKind != JsonValueKind.String)
                throw new ModelFormatException($"{file}: __metadata__ key '{m.Name}' must be a string");
            metadata[m.Name] = m.Value.GetString()!;
        }
    }

    static SafetensorsTensorInfo ReadTensor(string name, JsonElement value, string file)
    {
        string where = $"{file}: tensor '{name}'";
        if (value.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException($"{where}: entry is not an object");
        if (!value.TryGetProperty("dtype", out var dtypeEl) || dtypeEl.ValueKind != JsonValueKind.String)
            throw new ModelFormatException($"{where}: missing string field 'dtype'");
        string dtypeName = dtypeEl.GetString()!;
        if (!SafetensorsDTypes.TryParse(dtypeName, out var dtype))
            throw new ModelFormatException($"{where}: unknown dtype '{dtypeName}'");
        var shape = ReadIntegers(value, "shape", where, count: null);
        var offsets = ReadIntegers(value, "data_offsets", where, count: 2);
        return new SafetensorsTensorInfo(name, dtype, shape, offsets[0], offsets[1]);
    }

    static long[] ReadIntegers(JsonElement obj, string field, string where, int? count)
    {
        if (!obj.TryGetProperty(field, out var arr) || arr.ValueKind != JsonValueKind.Array)
            throw new ModelFormatException($"{where}: missing array field '{field}'");
        var values = new List<long>();
        foreach (var el in arr.EnumerateArray())
        {
            if (el.ValueKind != JsonValueKind.Number || !el.TryGetInt64(out long v) || v < 0)
                throw new ModelFormatException($"{where}: '{field}' must hold non-negative integers");
            values.Add(v);
        }
        if (count is int c && values.Count != c)
            throw new ModelFormatException($"{where}: '{field}' must have {c} entries, has {values.Count}");
        return values.ToArray();
    }

    static void Validate(IEnumerable<SafetensorsTensorInfo> tensors, long dataLength, string file)
    {
        long expectedBegin = 0;
        foreach (var t in tensors.OrderBy(t => t.Begin).ThenBy(t => t.End))
        {
            string where = $"{file}: tensor '{t.Name}'";
            if (t.Begin != expectedBegin || t.End < t.Begin)
                throw new ModelFormatException(t.Begin < expectedBegin
                    ? $"{where}: data_offsets [{t.Begin}, {t.End}] overlap the previous tensor (which ends at {expectedBegin})"
                    : t.End < t.Begin ? $"{where}: data_offsets [{t.Begin}, {t.End}] end before they begin"
                    : $"{where}: data_offsets [{t.Begin}, {t.End}] leave a hole after byte {expectedBegin}; the spec requires contiguous tensors");
            long bytes;
            try { bytes = checked(t.ElementCount * SafetensorsDTypes.Size(t.DType)); }
            catch (OverflowException) { throw new ModelFormatException($"{where}: shape [{string.Join(", ", t.Shape)}] overflows"); }
            if (bytes != t.End - t.Begin)
                throw new ModelFormatException(
                    $"{where}: shape [{string.Join(", ", t.Shape)}] × {SafetensorsDTypes.Name(t.DType)} is {bytes} bytes but data_offsets span {t.End - t.Begin}");
            if (t.End > dataLength)
                throw new ModelFormatException($"{where}: data_offsets end at {t.End}, past the data section's {dataLength} bytes");
            expectedBegin = t.End;
        }
        if (expectedBegin != dataLength)
            throw new ModelFormatException(
                $"{file}: the tensors cover {expectedBegin} of the data section's {dataLength} bytes (truncated or trailing bytes)");
    }

    /// <summary>Encodes a header as the reference writer does: compact JSON padded with spaces to a multiple of 8 bytes.</summary>
    public static byte[] Encode(IEnumerable<SafetensorsTensorInfo> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            foreach (var t in tensors)
            {
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", SafetensorsDTypes.Name(t.DType));
                w.WriteStartArray("shape");
                foreach (long d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(t.Begin);
                w.WriteNumberValue(t.End);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        var json = ms.ToArray();
        int padded = (json.Length + 7) / 8 * 8;
        var result = new byte[padded];
        json.CopyTo(result, 0);
        result.AsSpan(json.Length).Fill((byte)' ');
        return result;
    }

    internal static string Utf8(ReadOnlySpan<byte> b) => Encoding.UTF8.GetString(b);
}
