namespace Distill.Text.PreTokenizer;

/// <summary>
/// GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the other 68 bytes to
/// U+0100.. in byte order (so ' ' 0x20 → 'Ġ' U+0120, '\n' 0x0A → 'Ċ' U+010A).
/// </summary>
public static class ByteLevelTable
{
    public static readonly int[] ByteToChar = Build();
    public static readonly Dictionary<int, byte> CharToByte = ByteToChar.Select((c, b) => (c, b)).ToDictionary(t => t.c, t => (byte)t.b);

    static int[] Build()
    {
        var map = new int[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is (>= '!' and <= '~') or (>= 0xA1 and <= 0xAC) or (>= 0xAE and <= 0xFF);
            map[b] = printable ? b : next++;
        }
        return map;
    }
}
