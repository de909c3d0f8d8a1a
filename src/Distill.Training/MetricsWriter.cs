using System.Text;
using System.Text.Json;

namespace Distill.Training;

/// <summary>
/// metrics.jsonl: one JSON object per optimizer step, flushed as written. Fields, in this order: step, epoch, loss,
/// lr, grad_norm, the objective's metrics (TRL names for preference losses), then the wall-clock fields
/// <see cref="WallClockFields"/> (tokens_per_s, elapsed_s) — last, so that everything before them is a deterministic
/// function of the run and a resumed run's lines equal an uninterrupted run's once those two are dropped.
/// Floats are written in their shortest round-trip form.
/// On resume the file is cut back to the length recorded in the checkpoint, dropping lines of steps that will be
/// run again.
/// </summary>
public sealed class MetricsWriter : IDisposable
{
    public static readonly IReadOnlyList<string> WallClockFields = ["tokens_per_s", "elapsed_s"];
    readonly FileStream _file;

    public MetricsWriter(string path, long keepBytes)
    {
        _file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read);
        _file.SetLength(keepBytes);
        _file.Position = keepBytes;
    }

    /// <summary>Bytes written so far (what a checkpoint records).</summary>
    public long Length => _file.Position;

    public void Append(int step, double epoch, float loss, float lr, float gradNorm, IEnumerable<KeyValuePair<string, float>> objectiveMetrics, double tokensPerSecond, double elapsedSeconds)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("step", step);
            w.WriteNumber("epoch", Math.Round(epoch, 6));
            w.WriteNumber("loss", loss);
            w.WriteNumber("lr", lr);
            w.WriteNumber("grad_norm", gradNorm);
            foreach (var (k, v) in objectiveMetrics) w.WriteNumber(k, v);
            w.WriteNumber("tokens_per_s", Math.Round(tokensPerSecond, 1));
            w.WriteNumber("elapsed_s", Math.Round(elapsedSeconds, 3));
            w.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        _file.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
        _file.Flush();
    }

    /// <summary>A metrics line without its wall-clock fields: what resume-equality compares.</summary>
    public static string Deterministic(string line)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(line)!.AsObject();
        foreach (var f in WallClockFields) node.Remove(f);
        return node.ToJsonString();
    }

    public void Dispose() => _file.Dispose();
}
