namespace Distill.Models.Formats.Gguf;

/// <summary>
/// One metadata key/value of a GGUF file. <see cref="Value"/> is a string, bool, a number of the CLR type that
/// <see cref="Type"/> names (uint, int, float, ulong, ...), or for arrays a CLR array of the element type
/// (string[], int[], float[], ...), with <see cref="ElementType"/> set.
/// </summary>
public sealed record GgufEntry(string Key, GgufValueType Type, object Value, GgufValueType ElementType = GgufValueType.UInt8)
{
    public static GgufEntry String(string key, string v) => new(key, GgufValueType.String, v);
    public static GgufEntry UInt32(string key, uint v) => new(key, GgufValueType.UInt32, v);
    public static GgufEntry UInt32(string key, int v) => new(key, GgufValueType.UInt32, checked((uint)v));
    public static GgufEntry Float32(string key, double v) => new(key, GgufValueType.Float32, (float)v);
    public static GgufEntry Bool(string key, bool v) => new(key, GgufValueType.Bool, v);
    public static GgufEntry Strings(string key, string[] v) => new(key, GgufValueType.Array, v, GgufValueType.String);
    public static GgufEntry Int32s(string key, int[] v) => new(key, GgufValueType.Array, v, GgufValueType.Int32);
    public static GgufEntry Float32s(string key, float[] v) => new(key, GgufValueType.Array, v, GgufValueType.Float32);

    public override string ToString() => Value switch
    {
        string s => $"{Key} = \"{(s.Length > 60 ? s[..60] + "…" : s)}\"",
        Array a => $"{Key} = [{ElementType} × {a.Length}]",
        _ => $"{Key} = {Value}",
    };
}

/// <summary>
/// A tensor of a GGUF file. <see cref="Shape"/> is in PyTorch order (outermost first); the file stores it reversed
/// as ggml's ne[] (ne[0] = the contiguous row length), which is how llama.cpp's [n_embd, n_vocab] token_embd is an HF
/// [vocab, hidden] embedding with the same bytes.
/// </summary>
public sealed record GgufTensorInfo(string Name, long[] Shape, GgmlType Type, ulong Offset)
{
    public long Elements => Shape.Aggregate(1L, (a, b) => a * b);
    public long Bytes => GgmlTypes.Bytes(Type, Elements);
}
