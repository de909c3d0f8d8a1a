namespace Distill.Tensors.Autograd;

/// <summary>
/// One recorded op: a struct stored in the tape's array, so recording allocates nothing. Each op
/// documents which slots it uses (inputs A..D, saved tensors S0/S1, integers I0..I5, floats F0/F1,
/// and X, Y for references such as token ids, a RoPE table or a frozen-weight provider).
/// </summary>
public struct TapeEntry
{
    public Op Op;
    public Tensor Out;
    public Tensor? A, B, C, D;
    public Tensor? S0, S1;
    public int I0, I1, I2, I3, I4, I5;
    public float F0, F1;
    public object? X, Y;
}
