namespace Distill.Models.Quantization;

/// <summary>
/// 4-bit NormalFloat (Dettmers et al. 2023, QLoRA §3) exactly as bitsandbytes stores it: the 16-value
/// code book, values scaled by 1/absmax of their block, mapped by bitsandbytes' threshold tree
/// (csrc/kernels.cu `dQuantizeNF4`: each threshold is the midpoint of two neighbouring codes, and a value
/// equal to a threshold goes to the lower code), two indices per byte with the first in the high nibble.
/// </summary>
public static class Nf4
{
    /// <summary>The NF4 code book, index 0…15 (bitsandbytes `get_4bit_type("nf4")`).</summary>
    public static ReadOnlySpan<float> Code =>
    [
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
        -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
        0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
        0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
    ];

    /// <summary>bitsandbytes' dQuantizeNF4 decision tree, constants as float literals like the CUDA source.</summary>
    public static byte Quantize(float x)
    {
        if (x > 0.03979014977812767f)
            if (x > 0.3893125355243683f)
                if (x > 0.6427869200706482f)
                    return x > 0.8614784181118011f ? (byte)0b1111 : (byte)0b1110;
                else
                    return x > 0.5016634166240692f ? (byte)0b1101 : (byte)0b1100;
            else if (x > 0.2035212516784668f)
                return x > 0.2920137718319893f ? (byte)0b1011 : (byte)0b1010;
            else
                return x > 0.1202552504837513f ? (byte)0b1001 : (byte)0b1000;
        else if (x > -0.33967943489551544f)
            if (x > -0.13791173323988914f)
                return x > -0.045525018125772476f ? (byte)0b0111 : (byte)0b0110;
            else
                return x > -0.23460740596055984f ? (byte)0b0101 : (byte)0b0100;
        else if (x > -0.6106329262256622f)
            return x > -0.4599952697753906f ? (byte)0b0011 : (byte)0b0010;
        else
            return x > -0.8480964004993439f ? (byte)0b0001 : (byte)0b0000;
    }
}
