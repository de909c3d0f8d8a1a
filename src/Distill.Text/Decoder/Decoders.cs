using System.Text;
using Distill.Text.PreTokenizer;

namespace Distill.Text.Decoder;

/// <summary>A tokenizer.json "decoder": Rust's decode_chain, token strings in, strings out (then concatenated).</summary>
public interface IDecoder
{
    List<string> DecodeChain(List<string> tokens);
}

/// <summary>Byte-level: every token's code points back to bytes (a token with a code point outside the table is taken as its own UTF-8), one lossy UTF-8 string.</summary>
public sealed class ByteLevelDecoder : IDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        var bytes = new List<byte>();
        foreach (var t in tokens)
        {
            int mark = bytes.Count;
            bool ok = true;
            foreach (var cp in CodePoints.From(t))
            {
                if (ByteLevelTable.CharToByte.TryGetValue(cp, out byte b)) bytes.Add(b);
                else { ok = false; break; }
            }
            if (!ok) { bytes.RemoveRange(mark, bytes.Count - mark); bytes.AddRange(Encoding.UTF8.GetBytes(t)); }
        }
        return [Encoding.UTF8.GetString(bytes.ToArray())];
    }
}

public sealed class ReplaceDecoder(string pattern, string content) : IDecoder
{
    public List<string> DecodeChain(List<string> tokens) => tokens.Select(t => t.Replace(pattern, content, StringComparison.Ordinal)).ToList();
}

/// <summary>Runs of "&lt;0xXX&gt;" tokens become their UTF-8 text, or one U+FFFD per byte when invalid (Rust ByteFallback).</summary>
public sealed class ByteFallbackDecoder : IDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        var pending = new List<byte>();
        var strict = new UTF8Encoding(false, true);
        void Flush()
        {
            if (pending.Count == 0) return;
            try { result.Add(strict.GetString(pending.ToArray())); }
            catch (DecoderFallbackException) { for (int i = 0; i < pending.Count; i++) result.Add("\uFFFD"); }
            pending.Clear();
        }
        foreach (var t in tokens)
        {
            if (t.Length == 6 && t.StartsWith("<0x", StringComparison.Ordinal) && t[5] == '>' &&
                byte.TryParse(t.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out byte b))
                pending.Add(b);
            else { Flush(); result.Add(t); }
        }
        Flush();
        return result;
    }
}

public sealed class FuseDecoder : IDecoder
{
    public List<string> DecodeChain(List<string> tokens) => [string.Concat(tokens)];
}

/// <summary>Strip: removes up to <c>start</c> leading and <c>stop</c> trailing copies of one character from each token.</summary>
public sealed class StripDecoder(char content, int start, int stop) : IDecoder
{
    public List<string> DecodeChain(List<string> tokens) => tokens.Select(t =>
    {
        int a = 0, b = t.Length;
        for (int i = 0; i < start && a < b && t[a] == content; i++) a++;
        for (int i = 0; i < stop && b > a && t[b - 1] == content; i++) b--;
        return t[a..b];
    }).ToList();
}

/// <summary>Metaspace: "▁" → " ", and the first token loses its leading space unless prepend_scheme is "never".</summary>
public sealed class MetaspaceDecoder(string replacement, string prependScheme) : IDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
        {
            string t = tokens[i].Replace(replacement, " ", StringComparison.Ordinal);
            if (i == 0 && prependScheme != "never" && t.StartsWith(' ')) t = t[1..];
            result.Add(t);
        }
        return result;
    }
}

public sealed class SequenceDecoder(IReadOnlyList<IDecoder> decoders) : IDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        foreach (var d in decoders) tokens = d.DecodeChain(tokens);
        return tokens;
    }
}
