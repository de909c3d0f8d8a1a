namespace Distill.Text;

/// <summary>The result of encoding one text: ids, their token strings and offsets into the input (Unicode scalar values, end exclusive).</summary>
public sealed class TokenEncoding
{
    public List<int> Ids { get; } = [];
    public List<string> Tokens { get; } = [];
    public List<(int Start, int End)> Offsets { get; } = [];
    public List<bool> SpecialTokensMask { get; } = [];

    public void Add(int id, string token, (int, int) offsets, bool special = false)
    {
        Ids.Add(id); Tokens.Add(token); Offsets.Add(offsets); SpecialTokensMask.Add(special);
    }

    public void Insert(int index, int id, string token, (int, int) offsets, bool special)
    {
        Ids.Insert(index, id); Tokens.Insert(index, token); Offsets.Insert(index, offsets); SpecialTokensMask.Insert(index, special);
    }
}
