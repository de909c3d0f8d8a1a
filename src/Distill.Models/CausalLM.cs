using Distill.Models.Layers;
using Distill.Tensors;
using Distill.Tensors.Autograd;

namespace Distill.Models;

/// <summary>A checkpoint tensor: its Hugging Face name, the parameter holding it, and whether it is stored transposed (GPT-2's Conv1D).</summary>
public sealed record WeightEntry(string Name, Parameter Parameter, bool TransposedOnDisk = false);

/// <summary>
/// A decoder-only language model on the engine. Every family registers its parameters under their Hugging Face
/// names (the family's weight-name table), so loading, saving, LoRA targeting and merging are shared here.
/// Forward: token ids (batch·T, sequences of equal length) → logits (batch·T, vocab). With KV caches, the ids
/// are the next <c>len</c> tokens of each sequence starting at position <c>pos</c>.
/// </summary>
public abstract partial class CausalLM : IDisposable
{
    readonly List<WeightEntry> _weights = [];
    readonly List<LinearLayer> _linears = [];
    RopeTable? _rope, _ropeLong;

    protected CausalLM(ModelConfig config)
    {
        config.Validate();
        Config = config;
    }

    public ModelConfig Config { get; }
    public IReadOnlyList<WeightEntry> Weights => _weights;
    public IReadOnlyList<LinearLayer> Linears => _linears;

    /// <summary>transformers' base_model_prefix: the module holding the base model ("transformer" for GPT-2, "model" otherwise).</summary>
    public string BaseModelPrefix => Formats.CheckpointLayouts.PrefixOf(Config.Family);

    /// <summary>How the checkpoint this model was loaded from named its tensors; null for a model not loaded from a checkpoint.</summary>
    public Formats.CheckpointLayout? LoadedLayout { get; internal set; }

    /// <summary>
    /// The output head tied to the input embedding (tie_word_embeddings): (head name, embedding name), or null when untied.
    /// A checkpoint may still store the head; it must then equal the embedding (ModelIO.LoadWeights).
    /// </summary>
    public virtual (string Head, string Embedding)? TiedHead => null;

    /// <summary>Checkpoint names that may be absent (e.g. a tied lm_head) or present and ignored (rotary buffers).</summary>
    public virtual IEnumerable<string> OptionalNames => [];
    public virtual bool IgnoredName(string name) => name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal);

    protected Parameter AddWeight(string name, int[] shape, bool transposedOnDisk = false)
    {
        var p = new Parameter(name, shape);
        _weights.Add(new WeightEntry(name, p, transposedOnDisk));
        return p;
    }

    /// <summary>Registers an nn.Linear (or Conv1D) at module path <paramref name="path"/>: `.weight` and optionally `.bias`.</summary>
    protected LinearLayer AddLinear(string path, int inF, int outF, bool bias, bool conv1d = false)
    {
        var l = new LinearLayer(path, inF, outF) { Weight = AddWeight(path + ".weight", [outF, inF], conv1d) };
        l.Replacement = (name, o, i) =>
        {
            int at = _weights.FindIndex(w => w.Name == name);
            var p = new Parameter(name, o, i) { Trainable = _weights[at].Parameter.Trainable };
            _weights[at] = _weights[at] with { Parameter = p };
            return p;
        };
        if (bias) l.Bias = AddWeight(path + ".bias", [outF]);
        _linears.Add(l);
        return l;
    }

    /// <summary>
    /// The RoPE table for a forward over positions [0, <paramref name="positions"/>) (grown on demand up to
    /// max_position_embeddings and beyond if asked). With longrope the table depends on where the forward ends: the
    /// short factors while it fits original_max_position_embeddings, the long ones past it (<see cref="RopeFrequencies.UsesLongFactors"/>).
    /// </summary>
    protected RopeTable Rope(int positions)
    {
        bool longFactors = RopeFrequencies.UsesLongFactors(Config, positions);
        ref var table = ref longFactors ? ref _ropeLong : ref _rope;
        if (table is null || table.MaxPositions < positions)
        {
            table?.Dispose();
            table = RopeFrequencies.CreateTable(Config, Math.Max(positions, Math.Min(Config.MaxPositionEmbeddings, 4096)), longFactors);
        }
        return table;
    }

    /// <summary>
    /// True when a cached forward of positions [pos, pos + len) would mix rotary tables: the cache holds keys rotated
    /// with longrope's short factors and this step ends past original_max_position_embeddings. The caller must then
    /// recompute the whole sequence from position 0 (Phi3ForCausalLM.prepare_inputs_for_generation drops the cache at
    /// that step for the same reason).
    /// </summary>
    public bool CacheInvalidatedAt(int pos, int len)
        => pos > 0 && !RopeFrequencies.UsesLongFactors(Config, pos) && RopeFrequencies.UsesLongFactors(Config, pos + len);

    /// <summary>Logits (batch·T, vocab) for ids (batch·T); keyMask (batch·T): 0 keeps a key, −∞ drops it (padding).</summary>
    public Tensor Forward(Tape tape, int[] ids, int batch, Tensor? keyMask = null) => Run(tape, ids, batch, null, 0, keyMask, null, false);

    /// <summary>
    /// The same forward, but the output head runs only on the rows <paramref name="outputRows"/> of (batch·T): logits
    /// (outputRows.Length, vocab), row i being row outputRows[i] of the full forward. Training losses read the logits of
    /// completion positions only, and the head (vocab × hidden) is the largest matrix of a small model: the prompt,
    /// padding and last positions need no logits, forward or backward (a DPO batch of 256-token prompts with 128-token
    /// answers skips two thirds of the head). Null: every row.
    /// </summary>
    public Tensor Forward(Tape tape, int[] ids, int batch, Tensor? keyMask, int[]? outputRows) => Forward(tape, ids, batch, keyMask, outputRows, null);

    /// <summary>
    /// The same forward on branched rows (<paramref name="branches"/>, null: plain sequences): each row of ids is a shared
    /// prefix followed by two branches, the second at the positions of the first and blind to it (<see cref="BranchedRows"/>),
    /// so a preference pair's prompt runs once for both answers. Every row's hidden state, and so its logits, equal those
    /// of the same token in its own unbranched sequence (up to float rounding), in every family: positions come from
    /// <paramref name="branches"/> (RoPE angles, GPT-2's learned positions), attention skips the other branch, and a
    /// sliding window counts positions.
    /// </summary>
    public Tensor Forward(Tape tape, int[] ids, int batch, Tensor? keyMask, int[]? outputRows, BranchedRows? branches)
    {
        if (outputRows is { Length: 0 }) throw new ArgumentException("Forward: outputRows is empty (pass null for every row)");
        if (branches is not null && (branches.Count != batch || (long)branches.Count * branches.Length != ids.Length))
            throw new ArgumentException($"Forward: branched rows describe {branches.Count} rows of {branches.Length}, but {ids.Length} ids come in {batch} rows");
        _outputRows = outputRows;
        _branches = branches;
        try { return Run(tape, ids, batch, null, 0, keyMask, null, false); }
        finally { _outputRows = null; _branches = null; }
    }

    // The rows of the forward in progress that reach the head (Forward with outputRows), read by LastRows, and its
    // branched rows; a model runs one forward at a time (as its tape), so fields are enough and every family's Run keeps its signature.
    int[]? _outputRows;
    BranchedRows? _branches;

    /// <summary>The branched rows of the forward in progress (<see cref="Forward(Tape, int[], int, Tensor?, int[], BranchedRows?)"/>), or null.</summary>
    protected BranchedRows? Branches => _branches;

    /// <summary>
    /// Incremental forward: ids (batch·len) at positions [pos, pos + len), appending keys and values to the caches.
    /// <paramref name="lastOnly"/>: logits (batch, vocab) of each sequence's last position only (a prefill needs no more).
    /// </summary>
    public Tensor ForwardCached(Tape tape, int[] ids, int batch, KvCache[] caches, int pos, bool lastOnly = false)
        => Run(tape, ids, batch, caches, pos, null, null, lastOnly);

    /// <summary>
    /// Prefill of prompts of different lengths in one forward: ids (batch·len) hold prompt b right-padded to len
    /// (any valid id after its <paramref name="lengths"/>[b] tokens), at positions [0, len) of cache row b. Causal
    /// attention keeps every real token from seeing the padding after it, so the real positions' keys, values and
    /// logits equal those of the prompt run alone; the padded positions' cache entries are garbage that decoding
    /// overwrites before reading (position p is written before a query at p attends it). Returns the logits of each
    /// prompt's last real token, (batch, vocab).
    /// </summary>
    public Tensor ForwardPrefill(Tape tape, int[] ids, int batch, KvCache[] caches, int[] lengths)
    {
        if (batch < 1 || ids.Length % batch != 0 || lengths.Length != batch)
            throw new ArgumentException($"ForwardPrefill: {ids.Length} ids, {lengths.Length} lengths for a batch of {batch}");
        int len = ids.Length / batch;
        var last = new int[batch];
        for (int b = 0; b < batch; b++)
        {
            if (lengths[b] < 1 || lengths[b] > len) throw new ArgumentException($"ForwardPrefill: prompt {b} has length {lengths[b]}, need 1..{len}");
            last[b] = b * len + lengths[b] - 1;
        }
        _lastRows = last;
        try { return Run(tape, ids, batch, caches, 0, null, null, true); }
        finally { _lastRows = null; }
    }

    int[]? _lastRows; // set by ForwardPrefill for the call's LastRows

    /// <summary>
    /// One decoding step of a ragged batch: ids[b] is the next token of the sequence in cache row rows.CacheRows[b],
    /// at position rows.Positions[b] (its own length so far). Logits (rows, vocab). See <see cref="DecodeRows"/>.
    /// </summary>
    public Tensor ForwardRows(Tape tape, int[] ids, KvCache[] caches, DecodeRows rows)
    {
        if (ids.Length != rows.Count) throw new ArgumentException($"ForwardRows: {ids.Length} ids for {rows.Count} rows");
        if (RopeFrequencies.UsesLongFactors(Config, rows.MaxPosition + 1) && !RopeFrequencies.UsesLongFactors(Config, 1))
            throw new ArgumentException($"ForwardRows: position {rows.MaxPosition} passes longrope's original_max_position_embeddings; the cache must be recomputed (Generator does)");
        return Run(tape, ids, rows.Count, caches, 0, null, rows, false);
    }

    /// <param name="rows">a ragged decoding step (one token per row, own position and cache row), or null</param>
    /// <param name="lastOnly">return only each sequence's last-position logits (batch, vocab)</param>
    protected abstract Tensor Run(Tape tape, int[] ids, int batch, KvCache[]? caches, int pos, Tensor? keyMask, DecodeRows? rows, bool lastOnly);

    /// <summary>The position of every row of a forward: pos, pos + 1, … per sequence, or each ragged or branched row's own.</summary>
    protected int[] PositionsOf(int pos, int len, DecodeRows? rows) => rows?.Positions ?? _branches?.Positions ?? Positions(pos, len);

    /// <summary>The end (last position + 1) of a forward of <c>len</c> tokens from <c>pos</c>, ragged or branched rows' own.</summary>
    protected int EndOf(int pos, int len, DecodeRows? rows) => rows is not null ? rows.MaxPosition + 1 : _branches is not null ? _branches.MaxPosition + 1 : pos + len;

    /// <summary>
    /// The RoPE table for a forward ending before position <c>pos + len</c> (or after the ragged or branched rows' last: a
    /// branched row is longer than its last position, and longrope picks its factors by the positions, not the row length).
    /// </summary>
    protected RopeTable RopeOf(int pos, int len, DecodeRows? rows) => Rope(EndOf(pos, len, rows));

    /// <summary>
    /// Hidden states (batch·len, hidden) → each sequence's last row (batch, hidden) when <paramref name="lastOnly"/> (each
    /// prompt's last real row in a right-padded prefill), or the rows asked of <see cref="Forward(Tape, int[], int, Tensor?, int[])"/>;
    /// else h itself. Every family calls it just before its head.
    /// </summary>
    protected Tensor LastRows(Tape tape, Tensor h, int batch, bool lastOnly)
    {
        if (_outputRows is { } rows) return Tensors.Autograd.Ops.GatherRows.Forward(tape, h, rows);
        if (!lastOnly) return h;
        int len = h.Rows / batch;
        return Tensors.Autograd.Ops.GatherRows.Forward(tape, h, _lastRows ?? Enumerable.Range(1, batch).Select(b => b * len - 1).ToArray());
    }

    /// <summary>The rows asked of the forward in progress (<see cref="Forward(Tape, int[], int, Tensor?, int[])"/>), in the order the head gets them, or null.</summary>
    protected int[]? OutputRows => _outputRows;

    /// <summary>One KV cache per layer for <paramref name="batch"/> sequences of up to <paramref name="capacity"/> tokens.</summary>
    public KvCache[] CreateCaches(int batch, int capacity)
        => Enumerable.Range(0, Config.NumLayers).Select(_ => new KvCache(batch, capacity, Config.NumKvHeads, Config.HeadDim)).ToArray();

    /// <summary>
    /// Rotary self-attention shared by the RoPE families: q, k rotated at <paramref name="positions"/>, then causal
    /// GQA attention over the sequence (or over the KV cache from position 0 to pos + len). In a layer with a sliding
    /// window (<see cref="WindowOf"/>) query p sees keys p − window &lt; j ≤ p, in training, scoring and decoding alike.
    /// Returns the heads side by side, (batch·len, heads·hd), for o_proj.
    /// </summary>
    protected Tensor RotarySelfAttention(Tape tape, Tensor x, LinearLayer qProj, LinearLayer kProj, LinearLayer vProj,
        int layer, int batch, KvCache? cache, int pos, Tensor? keyMask, RopeTable rope, int[] positions, DecodeRows? rows = null)
        => RotaryAttention(tape, qProj.Forward(tape, x), kProj.Forward(tape, x), vProj.Forward(tape, x), layer, batch, cache, pos, keyMask, rope, positions, rows);

    /// <summary>The attention of <see cref="RotarySelfAttention"/> on projected q (batch·len, heads·hd), k and v (batch·len, kvHeads·hd).</summary>
    protected Tensor RotaryAttention(Tape tape, Tensor q, Tensor k, Tensor v, int layer, int batch, KvCache? cache, int pos,
        Tensor? keyMask, RopeTable rope, int[] positions, DecodeRows? rows = null)
    {
        var c = Config;
        q = Tensors.Autograd.Ops.Rope.Forward(tape, q, c.NumHeads, rope, positions);
        k = Tensors.Autograd.Ops.Rope.Forward(tape, k, c.NumKvHeads, rope, positions);
        int window = WindowOf(layer);
        if (rows is not null) return Tensors.Autograd.Ops.CausalAttention.DecodeRows(tape, q, k, v, cache!, rows, c.NumHeads, c.NumKvHeads, window);
        return cache is null
            ? Tensors.Autograd.Ops.CausalAttention.Forward(tape, q, k, v, batch, c.NumHeads, c.NumKvHeads, keyMask, window, _branches)
            : Tensors.Autograd.Ops.CausalAttention.Decode(tape, q, k, v, cache, pos, c.NumHeads, c.NumKvHeads, window);
    }

    /// <summary>The sliding window of layer <paramref name="layer"/> (0: full causal attention); see <see cref="ModelConfig.SlidingWindowLayers"/>.</summary>
    public int WindowOf(int layer) => Config.SlidingWindow is int w
        && (Config.LayerTypes is { } types ? types[layer] == "sliding_attention" : layer >= Config.SlidingWindowLayers) ? w : 0;

    protected static int[] Positions(int start, int count)
    {
        var p = new int[count];
        for (int i = 0; i < count; i++) p[i] = start + i;
        return p;
    }

    /// <summary>Freezes every base weight (LoRA training trains only the adapters).</summary>
    public void FreezeBase()
    {
        foreach (var w in _weights) w.Parameter.Trainable = false;
    }

    public long ParameterCount => _weights.Sum(w => (long)w.Parameter.Length);

    public virtual void Dispose()
    {
        foreach (var w in _weights) w.Parameter.Dispose();
        foreach (var l in _linears) l.Lora?.Dispose();
        _rope?.Dispose();
        _ropeLong?.Dispose();
        GC.SuppressFinalize(this);
    }
}
