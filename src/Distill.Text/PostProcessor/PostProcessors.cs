using Distill.Text.PreTokenizer;

namespace Distill.Text.PostProcessor;

/// <summary>A tokenizer.json "post_processor": adds BOS/EOS-style tokens (only when add_special_tokens) and may adjust offsets.</summary>
public interface IPostProcessor
{
    void Process(TokenEncoding encoding, bool addSpecialTokens);
}

/// <summary>TemplateProcessing for a single sequence: e.g. single = [&lt;s&gt;, $A] prepends BOS; added tokens get offsets (0, 0).</summary>
public sealed class TemplateProcessing(IReadOnlyList<(bool IsSequence, string Id)> single, IReadOnlyDictionary<string, (int[] Ids, string[] Tokens)> specialTokens) : IPostProcessor
{
    public void Process(TokenEncoding encoding, bool addSpecialTokens)
    {
        if (!addSpecialTokens) return;
        var result = new TokenEncoding();
        foreach (var (isSequence, id) in single)
        {
            if (isSequence)
                for (int i = 0; i < encoding.Ids.Count; i++) result.Add(encoding.Ids[i], encoding.Tokens[i], encoding.Offsets[i], encoding.SpecialTokensMask[i]);
            else
            {
                var (ids, tokens) = specialTokens[id];
                for (int i = 0; i < ids.Length; i++) result.Add(ids[i], tokens[i], (0, 0), true);
            }
        }
        Replace(encoding, result);
    }

    internal static void Replace(TokenEncoding target, TokenEncoding source)
    {
        target.Ids.Clear(); target.Tokens.Clear(); target.Offsets.Clear(); target.SpecialTokensMask.Clear();
        target.Ids.AddRange(source.Ids); target.Tokens.AddRange(source.Tokens); target.Offsets.AddRange(source.Offsets); target.SpecialTokensMask.AddRange(source.SpecialTokensMask);
    }
}

/// <summary>
/// ByteLevel post-processing: with trim_offsets, offsets skip the leading/trailing spaces ('Ġ') of a
/// token (Rust process_offsets; the single prefix space of the first token is kept when add_prefix_space).
/// </summary>
public sealed class ByteLevelPostProcessor(bool addPrefixSpace, bool trimOffsets) : IPostProcessor
{
    public void Process(TokenEncoding encoding, bool addSpecialTokens)
    {
        if (trimOffsets) TrimOffsets(encoding, addPrefixSpace);
    }

    internal static void TrimOffsets(TokenEncoding encoding, bool addPrefixSpace)
    {
        int space = ByteLevelTable.ByteToChar[' '];
        for (int i = 0; i < encoding.Ids.Count; i++)
        {
            var cps = CodePoints.From(encoding.Tokens[i]);
            int leading = 0, trailing = 0;
            while (leading < cps.Length && (cps[leading] == space || CodePoints.IsWhiteSpace(cps[leading]))) leading++;
            while (trailing < cps.Length && (cps[^(trailing + 1)] == space || CodePoints.IsWhiteSpace(cps[^(trailing + 1)]))) trailing++;
            var (s, e) = encoding.Offsets[i];
            if (leading > 0)
            {
                if ((i == 0 || s == 0) && addPrefixSpace && leading == 1) leading = 0;
                s = Math.Min(s + leading, e);
            }
            if (trailing > 0 && e >= trailing) e = Math.Max(e - trailing, s);
            encoding.Offsets[i] = (s, e);
        }
    }
}

/// <summary>RobertaProcessing / BertProcessing for one sequence: CLS A SEP (Roberta also trims offsets like ByteLevel).</summary>
public sealed class ClsSepProcessing((string Token, int Id) cls, (string Token, int Id) sep, bool trimOffsets, bool addPrefixSpace) : IPostProcessor
{
    public void Process(TokenEncoding encoding, bool addSpecialTokens)
    {
        if (trimOffsets) ByteLevelPostProcessor.TrimOffsets(encoding, addPrefixSpace);
        if (!addSpecialTokens) return;
        encoding.Insert(0, cls.Id, cls.Token, (0, 0), true);
        encoding.Add(sep.Id, sep.Token, (0, 0), true);
    }
}

public sealed class SequencePostProcessor(IReadOnlyList<IPostProcessor> processors) : IPostProcessor
{
    public void Process(TokenEncoding encoding, bool addSpecialTokens)
    {
        foreach (var p in processors) p.Process(encoding, addSpecialTokens);
    }
}
