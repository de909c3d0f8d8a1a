namespace Distill.Models.Formats.Gguf;

/// <summary>GGUF metadata value types (ggml's gguf.h `enum gguf_type`; gguf-py constants.py GGUFValueType).</summary>
public enum GgufValueType : uint
{
    UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7, String = 8, Array = 9,
    UInt64 = 10, Int64 = 11, Float64 = 12,
}

/// <summary>
/// The tensor types Distill writes and reads (ggml.h `enum ggml_type`; the numbers are the file format). Other types
/// are refused by name when reading.
/// </summary>
public enum GgmlType : uint { F32 = 0, F16 = 1, Q8_0 = 8, BF16 = 30 }

/// <summary>general.file_type (llama.h `enum llama_ftype`; gguf-py LlamaFileType): what most tensors of the file are.</summary>
public enum GgufFileType : uint { AllF32 = 0, MostlyF16 = 1, MostlyQ8_0 = 7, MostlyBF16 = 32 }

/// <summary>tokenizer.ggml.token_type values (llama.h `enum llama_token_type`; gguf-py TokenType).</summary>
public enum GgufTokenType { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 }

public static class GgmlTypes
{
    /// <summary>Elements per block and bytes per block (ggml's type_traits: blck_size, type_size).</summary>
    public static (int BlockSize, int BlockBytes) Traits(GgmlType t) => t switch
    {
        GgmlType.F32 => (1, 4),
        GgmlType.F16 => (1, 2),
        GgmlType.BF16 => (1, 2),
        GgmlType.Q8_0 => (Q8_0.BlockSize, Q8_0.BlockBytes),
        _ => throw new ModelFormatException($"ggml type {(uint)t} is not supported"),
    };

    public static bool IsKnown(uint t) => t is 0 or 1 or 8 or 30;

    /// <summary>Bytes of a tensor of <paramref name="elements"/> elements; its rows (ne[0]) must be whole blocks.</summary>
    public static long Bytes(GgmlType t, long elements)
    {
        var (bs, bb) = Traits(t);
        return elements / bs * bb;
    }

    /// <summary>The file type a --dtype names and the tensor type its quantizable weights get.</summary>
    public static (GgufFileType File, GgmlType Weights) Parse(string dtype) => dtype switch
    {
        "f32" => (GgufFileType.AllF32, GgmlType.F32),
        "f16" => (GgufFileType.MostlyF16, GgmlType.F16),
        "bf16" => (GgufFileType.MostlyBF16, GgmlType.BF16),
        "q8_0" => (GgufFileType.MostlyQ8_0, GgmlType.Q8_0),
        _ => throw new ArgumentException($"--dtype must be f32, f16, bf16 or q8_0 for GGUF, got '{dtype}'"),
    };

    /// <summary>float32 values → the bytes of <paramref name="t"/> (F16: IEEE half, round-to-nearest-even as numpy's astype; BF16: as torch).</summary>
    public static byte[] Encode(GgmlType t, ReadOnlySpan<float> src)
    {
        var bytes = new byte[Bytes(t, src.Length)];
        switch (t)
        {
            case GgmlType.F32:
                System.Runtime.InteropServices.MemoryMarshal.AsBytes(src).CopyTo(bytes);
                break;
            case GgmlType.F16:
                for (int i = 0; i < src.Length; i++)
                    System.Buffers.Binary.BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(2 * i), (Half)src[i]);
                break;
            case GgmlType.BF16:
                for (int i = 0; i < src.Length; i++)
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), SafetensorsDTypes.ToBFloat16Bits(src[i]));
                break;
            case GgmlType.Q8_0:
                Q8_0.Quantize(src, bytes);
                break;
            default:
                throw new ModelFormatException($"ggml type {t} cannot be written");
        }
        return bytes;
    }

    /// <summary>The bytes of a tensor of type <paramref name="t"/> → float32.</summary>
    public static void Decode(GgmlType t, ReadOnlySpan<byte> bytes, Span<float> dst)
    {
        switch (t)
        {
            case GgmlType.F32:
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).CopyTo(dst);
                break;
            case GgmlType.F16:
                for (int i = 0; i < dst.Length; i++)
                    dst[i] = (float)System.Buffers.Binary.BinaryPrimitives.ReadHalfLittleEndian(bytes[(2 * i)..]);
                break;
            case GgmlType.BF16:
                for (int i = 0; i < dst.Length; i++)
                    dst[i] = BitConverter.UInt32BitsToSingle((uint)System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]) << 16);
                break;
            case GgmlType.Q8_0:
                Q8_0.Dequantize(bytes, dst);
                break;
            default:
                throw new ModelFormatException($"ggml type {t} cannot be read");
        }
    }
}
