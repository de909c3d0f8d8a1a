using System.Text.Json;

namespace Distill.Models.Formats;

/// <summary>
/// The weights of a Hugging Face model folder: `model.safetensors`, or the shards listed in
/// `model.safetensors.index.json` (`weight_map`: tensor name → shard file in the same folder).
/// Every shard is memory-mapped and validated when the checkpoint opens; the index must agree with
/// the shards' headers, so a tensor is never looked up in the wrong file.
/// </summary>
public sealed class Checkpoint : IDisposable
{
    readonly List<SafetensorsFile> _files = [];
    readonly Dictionary<string, SafetensorsFile> _byTensor = new(StringComparer.Ordinal);

    public string Directory { get; }
    public IEnumerable<string> Names => _byTensor.Keys;

    Checkpoint(string dir) => Directory = dir;

    public static Checkpoint Open(string dir)
    {
        dir = Path.GetFullPath(dir);
        var ckpt = new Checkpoint(dir);
        try
        {
            string index = Path.Combine(dir, CheckpointNames.Index), single = Path.Combine(dir, CheckpointNames.Single);
            if (File.Exists(index)) ckpt.OpenSharded(index);
            else if (File.Exists(single)) ckpt.Add(SafetensorsFile.Open(single), expected: null);
            else throw new ModelFormatException($"{dir}: neither {CheckpointNames.Single} nor {CheckpointNames.Index} found");
            return ckpt;
        }
        catch
        {
            ckpt.Dispose();
            throw;
        }
    }

    void OpenSharded(string indexPath)
    {
        Dictionary<string, List<string>> byShard;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new ModelFormatException($"{indexPath}: missing object 'weight_map'");
            byShard = new(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                    throw new ModelFormatException($"{indexPath}: weight_map entry '{entry.Name}' is not a file name");
                string file = entry.Value.GetString()!;
                // A shard lives beside the index: no directories, no "..", no absolute paths.
                if (file.Length == 0 || file.IndexOfAny(['/', '\\']) >= 0 || file is "." or "..")
                    throw new ModelFormatException($"{indexPath}: weight_map entry '{entry.Name}' points outside the folder ('{file}')");
                if (!byShard.TryGetValue(file, out var list)) byShard[file] = list = [];
                list.Add(entry.Name);
            }
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{indexPath}: not valid JSON ({e.Message})");
        }
        foreach (var (file, names) in byShard.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var path = Path.Combine(Directory, file);
            if (!File.Exists(path)) throw new ModelFormatException($"{indexPath}: shard '{file}' (holding '{names[0]}') does not exist");
            Add(SafetensorsFile.Open(path), names.ToHashSet(StringComparer.Ordinal));
        }
    }

    void Add(SafetensorsFile file, HashSet<string>? expected)
    {
        _files.Add(file);
        if (expected is not null)
            foreach (var name in expected)
                if (!file.Tensors.ContainsKey(name))
                    throw new ModelFormatException($"{file.Path}: tensor '{name}' is listed in {CheckpointNames.Index} but not stored in this shard");
        foreach (var name in file.Tensors.Keys)
        {
            if (expected is not null && !expected.Contains(name))
                throw new ModelFormatException($"{file.Path}: tensor '{name}' is stored here but {CheckpointNames.Index} does not map it to this shard");
            if (_byTensor.TryGetValue(name, out var other))
                throw new ModelFormatException($"tensor '{name}' is stored in both {other.Path} and {file.Path}");
            _byTensor[name] = file;
        }
    }

    public bool Contains(string name) => _byTensor.ContainsKey(name);

    public SafetensorsTensorInfo Info(string name) => FileOf(name).Info(name);

    public SafetensorsFile FileOf(string name)
        => _byTensor.TryGetValue(name, out var f) ? f : throw new ModelFormatException($"{Directory}: missing tensor '{name}'");

    public float[] ReadFloat32(string name) => FileOf(name).ReadFloat32(name);

    /// <summary>Reads <paramref name="name"/>, checking its shape first (error names tensor, file and both shapes).</summary>
    public float[] ReadFloat32(string name, params long[] shape)
    {
        var info = Info(name);
        if (!info.Shape.SequenceEqual(shape))
            throw new ModelFormatException(
                $"{FileOf(name).Path}: tensor '{name}' has shape [{string.Join(", ", info.Shape)}], the architecture expects [{string.Join(", ", shape)}]");
        return ReadFloat32(name);
    }

    /// <summary>
    /// Compares stored names with what the architecture expects. <paramref name="optional"/> names may be
    /// absent (e.g. a tied `lm_head.weight`) and <paramref name="ignored"/> names may be present (e.g. rotary
    /// `inv_freq` buffers older checkpoints carry), as transformers' `_keys_to_ignore_on_load_*` allow.
    /// </summary>
    public void CheckNames(IEnumerable<string> required, IEnumerable<string>? optional = null, Func<string, bool>? ignored = null)
    {
        var req = required.ToList();
        var allowed = new HashSet<string>(req.Concat(optional ?? []), StringComparer.Ordinal);
        var missing = req.Where(n => !_byTensor.ContainsKey(n)).ToList();
        if (missing.Count > 0)
            throw new ModelFormatException(
                $"{Directory}: missing tensor '{missing[0]}'" + (missing.Count > 1 ? $" and {missing.Count - 1} more" : ""));
        var unexpected = _byTensor.Keys.Where(n => !allowed.Contains(n) && !(ignored?.Invoke(n) ?? false)).Order(StringComparer.Ordinal).ToList();
        if (unexpected.Count > 0)
            throw new ModelFormatException(
                $"{_byTensor[unexpected[0]].Path}: unexpected tensor '{unexpected[0]}'" + (unexpected.Count > 1 ? $" and {unexpected.Count - 1} more" : "") + " (not part of this architecture)");
    }

    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
        _files.Clear();
    }
}
