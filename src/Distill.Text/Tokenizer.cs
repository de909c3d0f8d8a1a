using Distill.Text.Decoder;
using Distill.Text.Model;
using Distill.Text.Normalizer;
using Distill.Text.PostProcessor;
using Distill.Text.PreTokenizer;

namespace Distill.Text;

/// <summary>
/// A Hugging Face tokenizer.json pipeline: added tokens → normalizer → pre-tokenizer → BPE model →
/// post-processor, and decode through the decoder. Must match Rust tokenizers (checked against the
/// npm binding's outputs in tests/Distill.Text.Tests/expected). Load with <see cref="TokenizerLoader"/>.
/// </summary>
public sealed class Tokenizer
{
    readonly Dictionary<int, AddedToken> _addedById;
    readonly Dictionary<string, AddedToken> _addedByContent;
    readonly string?[] _modelTokens; // (VocabSize) id → token of the model vocabulary
    readonly bool _hasNormalizedAdded;
    readonly WordIdPath? _wordIds;

    public Tokenizer(BpeModel model, AddedVocabulary added, INormalizer? normalizer, IPreTokenizer? preTokenizer,
        IPostProcessor? postProcessor, IDecoder? decoder, string source)
    {
        Model = model; Added = added; Normalizer = normalizer; PreTokenizer = preTokenizer;
        PostProcessor = postProcessor; Decoder = decoder; Source = source;
        _addedById = added.Tokens.GroupBy(t => t.Id).ToDictionary(g => g.Key, g => g.First());
        _addedByContent = added.Tokens.GroupBy(t => t.Content).ToDictionary(g => g.Key, g => g.First());
        _hasNormalizedAdded = added.HasNormalized;
        _wordIds = WordIdPath.TryCreate(this);
        _modelTokens = new string?[model.VocabSize];
        foreach (var (token, id) in model.Vocab) _modelTokens[id] = token;
    }

    public BpeModel Model { get; }
    public AddedVocabulary Added { get; }
    public INormalizer? Normalizer { get; }
    public IPreTokenizer? PreTokenizer { get; }
    public IPostProcessor? PostProcessor { get; }
    public IDecoder? Decoder { get; }
    /// <summary>The file this tokenizer came from (for error messages).</summary>
    public string Source { get; }

    public int VocabSize => Math.Max(Model.VocabSize, _addedById.Count == 0 ? 0 : _addedById.Keys.Max() + 1);

    public string? IdToToken(int id) =>
        _addedById.TryGetValue(id, out var a) ? a.Content : (uint)id < (uint)_modelTokens.Length ? _modelTokens[id] : null;

    public int? TokenToId(string token) =>
        _addedByContent.TryGetValue(token, out var a) ? a.Id : Model.Vocab.TryGetValue(token, out int id) ? id : null;

    public bool IsSpecial(int id) => _addedById.TryGetValue(id, out var a) && a.Special;

    /// <summary>
    /// The ids of <see cref="Encode"/>, through the cached ids-only <see cref="WordIdPath"/> when the
    /// pipeline allows it (byte-level BPE tokenizers), else through Encode.
    /// </summary>
    public List<int> EncodeToIds(string text, bool addSpecialTokens = false)
    {
        if (_wordIds == null || (addSpecialTokens && !WordIdPath.IdNeutral(PostProcessor)) || text.AsSpan().ContainsAnyInRange('\uD800', '\uDFFF'))
            return Encode(text, addSpecialTokens).Ids;
        var ids = new List<int>(text.Length / 3 + 4);
        int last = 0;
        foreach (var (token, start, end) in Added.Find(text.AsSpan(), normalized: false))
        {
            if (start > last) EncodeIdsSegment(text, last, start, ids); // start < last: Rust's rstrip overlap, see Encode
            ids.Add(token.Id);
            last = end;
        }
        if (last < text.Length) EncodeIdsSegment(text, last, text.Length, ids);
        return ids;
    }

    /// <summary>Whether <see cref="EncodeToIds"/> can take the cached ids-only path (tests check it is taken where expected).</summary>
    internal bool HasWordIdPath => _wordIds != null;

    void EncodeIdsSegment(string text, int start, int end, List<int> ids)
    {
        if (_wordIds!.TryEncode(text.AsSpan(start, end - start), ids)) return;
        var encoding = new TokenEncoding();
        EncodeSegment(NormalizedText.FromOriginal(CodePoints.From(text), start, end), encoding);
        ids.AddRange(encoding.Ids);
    }

    public TokenEncoding Encode(string text, bool addSpecialTokens = false)
    {
        int[] cps = CodePoints.From(text);
        var encoding = new TokenEncoding();
        int last = 0;
        foreach (var (token, start, end) in Added.Find(cps, cps.Length, normalized: false))
        {
            // As Rust: the token's string is the matched text with what lstrip/rstrip swallowed; an
            // rstrip'd match may overlap the next one (start < last), whose text is then encoded twice.
            if (start > last) EncodeSegment(NormalizedText.FromOriginal(cps, last, start), encoding);
            encoding.Add(token.Id, CodePoints.ToUtf16(cps.AsSpan(start, end - start)), (start, end), token.Special);
            last = end;
        }
        if (last < cps.Length) EncodeSegment(NormalizedText.FromOriginal(cps, last, cps.Length), encoding);
        PostProcessor?.Process(encoding, addSpecialTokens);
        return encoding;
    }

    void EncodeSegment(NormalizedText segment, TokenEncoding encoding)
    {
        Normalizer?.Normalize(segment);
        var pieces = new List<NormalizedText>();
        if (_hasNormalizedAdded)
        {
            // Second pass: added tokens with normalized=true are matched on the normalized text; the
            // token's string is the normalized text matched (Rust: slice.get()).
            int last = 0;
            foreach (var (token, start, end) in Added.Find(segment.Cps, segment.Length, normalized: true))
            {
                if (start > last) EncodePieces([segment.Slice(last, start)], encoding);
                encoding.Add(token.Id, CodePoints.ToUtf16(segment.Cps.AsSpan(start, end - start)), segment.Original(start, end), token.Special);
                last = end;
            }
            if (last < segment.Length) pieces.Add(segment.Slice(last, segment.Length));
        }
        else pieces.Add(segment);
        EncodePieces(pieces, encoding);
    }

    void EncodePieces(List<NormalizedText> pieces, TokenEncoding encoding)
    {
        PreTokenizer?.PreTokenize(pieces);
        foreach (var piece in pieces)
        {
            if (piece.Length == 0) continue;
            foreach (var t in Model.Tokenize(piece.Cps.AsSpan(0, piece.Length)))
                encoding.Add(t.Id, _modelTokens[t.Id]!, piece.Original(t.Start, t.End));
        }
    }

    /// <summary>Ids → text through the decoder (Rust Tokenizer::decode); unknown ids are an error naming them.</summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false)
    {
        var tokens = new List<string>();
        foreach (int id in ids)
        {
            string token = IdToToken(id) ?? throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} is not in the vocabulary of {Source}");
            if (skipSpecialTokens && Added.SpecialContents.Contains(token)) continue; // Rust: is_special_token(id_to_token(id))
            tokens.Add(token);
        }
        return Decoder == null ? string.Join(' ', tokens) : string.Concat(Decoder.DecodeChain(tokens));
    }
}
