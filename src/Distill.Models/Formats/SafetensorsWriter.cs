namespace Distill.Models.Formats;

/// <summary>
/// Writes safetensors files (F32, F16 or BF16) laid out as the reference writer lays them out: header
/// padded with spaces to a multiple of 8, tensors contiguous in header order. Writes go to a temporary
/// file renamed into place, so a partial checkpoint never looks complete (docs/architecture.md §6).
/// Also writes sharded checkpoints with `model.safetensors.index.json` as transformers' `save_pretrained` does.
/// </summary>
public static class SafetensorsWriter
{
    public static void Write(string path, IReadOnlyList<NamedTensor> tensors, SafetensorsDType dtype = SafetensorsDType.F32,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (dtype is not (SafetensorsDType.F32 or SafetensorsDType.F16 or SafetensorsDType.BF16))
            throw new ArgumentException($"Distill writes F32, F16 or BF16, not {SafetensorsDTypes.Name(dtype)}");
        int size = SafetensorsDTypes.Size(dtype);
        var infos = new List<SafetensorsTensorInfo>(tensors.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        long offset = 0;
        foreach (var t in tensors)
        {
            if (t.Name == "__metadata__" || !seen.Add(t.Name))
                throw new ArgumentException($"tensor name '{t.Name}' is reserved or repeated");
            long count = t.Shape.Aggregate(1L, (a, b) => checked(a * b));
            if (count != t.Data.Length)
                throw new ArgumentException($"tensor '{t.Name}': shape [{string.Join(", ", t.Shape)}] holds {count} values, data has {t.Data.Length}");
            infos.Add(new SafetensorsTensorInfo(t.Name, dtype, t.Shape, offset, offset + count * size));
            offset += count * size;
        }
        var header = SafetensorsHeader.Encode(infos, metadata ?? new Dictionary<string, string> { ["format"] = "pt" });
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + $".tmp-{Environment.ProcessId}";
        try
        {
            using (var fs = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> n = stackalloc byte[8];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(n, (ulong)header.Length);
                fs.Write(n);
                fs.Write(header);
                var buffer = new byte[Math.Min(1 << 20, Math.Max(size, (int)Math.Min(offset, 1 << 20)))];
                int chunk = buffer.Length / size;
                foreach (var t in tensors)
                    for (int i = 0; i < t.Data.Length; i += chunk)
                    {
                        int len = Math.Min(chunk, t.Data.Length - i);
                        SafetensorsDTypes.FromFloat32(dtype, t.Data.Span.Slice(i, len), buffer.AsSpan(0, len * size));
                        fs.Write(buffer, 0, len * size);
                    }
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>
    /// Saves <paramref name="tensors"/> into <paramref name="dir"/>: one `model.safetensors` when the data fits
    /// in <paramref name="maxShardBytes"/>, else `model-0000i-of-0000n.safetensors` shards and
    /// `model.safetensors.index.json` ({"metadata": {"total_size"}, "weight_map"}), as transformers names them.
    /// </summary>
    public static void WriteCheckpoint(string dir, IReadOnlyList<NamedTensor> tensors, SafetensorsDType dtype, long maxShardBytes = 5_000_000_000)
    {
        int size = SafetensorsDTypes.Size(dtype);
        var shards = new List<List<NamedTensor>> { new() };
        long current = 0, total = 0;
        foreach (var t in tensors)
        {
            long bytes = (long)t.Data.Length * size;
            if (current > 0 && current + bytes > maxShardBytes) { shards.Add([]); current = 0; }
            shards[^1].Add(t);
            current += bytes;
            total += bytes;
        }
        Directory.CreateDirectory(dir);
        if (shards.Count == 1)
        {
            Write(Path.Combine(dir, CheckpointNames.Single), tensors, dtype);
            return;
        }
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int s = 0; s < shards.Count; s++)
        {
            string file = CheckpointNames.Shard(s + 1, shards.Count);
            Write(Path.Combine(dir, file), shards[s], dtype);
            foreach (var t in shards[s]) weightMap[t.Name] = file;
        }
        var index = new System.Text.Json.Nodes.JsonObject
        {
            ["metadata"] = new System.Text.Json.Nodes.JsonObject { ["total_size"] = total },
            ["weight_map"] = new System.Text.Json.Nodes.JsonObject(weightMap.Select(kv => KeyValuePair.Create(kv.Key, (System.Text.Json.Nodes.JsonNode?)kv.Value))),
        };
        var indexPath = Path.Combine(dir, CheckpointNames.Index);
        File.WriteAllText(indexPath + ".tmp", index.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        File.Move(indexPath + ".tmp", indexPath, overwrite: true);
    }
}
