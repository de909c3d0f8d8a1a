using System.Buffers.Binary;

namespace Distill.Models.Formats;

/// <summary>Element types of the safetensors format (spec: huggingface/safetensors `Dtype`).</summary>
public enum SafetensorsDType { Bool, U8, I8, F8E5M2, F8E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 }

/// <summary>Names, sizes and float32 conversions of <see cref="SafetensorsDType"/>.</summary>
public static class SafetensorsDTypes
{
    // The spellings used in the header's "dtype" field.
    static readonly (string Name, SafetensorsDType Type, int Size)[] Table =
    [
        ("BOOL", SafetensorsDType.Bool, 1), ("U8", SafetensorsDType.U8, 1), ("I8", SafetensorsDType.I8, 1),
        ("F8_E5M2", SafetensorsDType.F8E5M2, 1), ("F8_E4M3", SafetensorsDType.F8E4M3, 1),
        ("I16", SafetensorsDType.I16, 2), ("U16", SafetensorsDType.U16, 2), ("F16", SafetensorsDType.F16, 2),
        ("BF16", SafetensorsDType.BF16, 2), ("I32", SafetensorsDType.I32, 4), ("U32", SafetensorsDType.U32, 4),
        ("F32", SafetensorsDType.F32, 4), ("F64", SafetensorsDType.F64, 8), ("I64", SafetensorsDType.I64, 8),
        ("U64", SafetensorsDType.U64, 8),
    ];

    public static bool TryParse(string name, out SafetensorsDType type)
    {
        foreach (var row in Table)
            if (row.Name == name) { type = row.Type; return true; }
        type = default;
        return false;
    }

    public static string Name(SafetensorsDType type) => Table[(int)type].Name;

    public static int Size(SafetensorsDType type) => Table[(int)type].Size;

    public static bool IsFloat32Convertible(SafetensorsDType type)
        => type is SafetensorsDType.F32 or SafetensorsDType.F16 or SafetensorsDType.BF16 or SafetensorsDType.F64;

    /// <summary>Decodes little-endian <paramref name="bytes"/> of <paramref name="type"/> into float32.</summary>
    public static void ToFloat32(SafetensorsDType type, ReadOnlySpan<byte> bytes, Span<float> dst)
    {
        int size = Size(type);
        if (bytes.Length != dst.Length * size)
            throw new ArgumentException($"{bytes.Length} bytes do not hold {dst.Length} values of {Name(type)}");
        switch (type)
        {
            case SafetensorsDType.F32:
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]);
                break;
            case SafetensorsDType.F16:
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(2 * i)..]);
                break;
            case SafetensorsDType.BF16:
                // bfloat16 is the top half of a float32: widening is exact.
                for (int i = 0; i < dst.Length; i++)
                    dst[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]) << 16);
                break;
            case SafetensorsDType.F64:
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes[(8 * i)..]);
                break;
            default:
                throw new NotSupportedException($"dtype {Name(type)} is not a floating-point type Distill reads");
        }
    }

    /// <summary>Encodes float32 values as little-endian F32, F16 or BF16 (round to nearest even, as torch does).</summary>
    public static void FromFloat32(SafetensorsDType type, ReadOnlySpan<float> src, Span<byte> bytes)
    {
        int size = Size(type);
        if (bytes.Length != src.Length * size)
            throw new ArgumentException($"{bytes.Length} bytes cannot hold {src.Length} values of {Name(type)}");
        switch (type)
        {
            case SafetensorsDType.F32:
                for (int i = 0; i < src.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes[(4 * i)..], src[i]);
                break;
            case SafetensorsDType.F16:
                for (int i = 0; i < src.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(bytes[(2 * i)..], (Half)src[i]);
                break;
            case SafetensorsDType.BF16:
                for (int i = 0; i < src.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(bytes[(2 * i)..], ToBFloat16Bits(src[i]));
                break;
            default:
                throw new NotSupportedException($"Distill writes F32, F16 or BF16, not {Name(type)}");
        }
    }

    /// <summary>float32 → bfloat16 bits with round-to-nearest-even; NaN stays a quiet NaN (c10::round_to_nearest_even).</summary>
    public static ushort ToBFloat16Bits(float value)
    {
        if (float.IsNaN(value)) return 0x7FC0;
        uint bits = BitConverter.SingleToUInt32Bits(value);
        uint roundingBias = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }
}
