using System.Text;

namespace Distill.Evaluation.Rouge;

/// <summary>Precision, recall and F-measure of one ROUGE variant.</summary>
public readonly record struct RougeScore(double Precision, double Recall, double FMeasure)
{
    public static RougeScore From(double p, double r) => new(p, r, p + r > 0 ? 2 * p * r / (p + r) : 0);
}

/// <summary>ROUGE-1, -2, -L and -Lsum of one (target, prediction) pair, plus word counts.</summary>
public sealed record RougeScores(RougeScore Rouge1, RougeScore Rouge2, RougeScore RougeL, RougeScore RougeLsum, int TargetWords, int PredictionWords);

/// <summary>
/// ROUGE with the conventions of Google's rouge-score package (rouge_scorer.py, tokenize.py):
/// lower-case; every run of characters outside [a-z0-9] becomes a space; split on whitespace;
/// optionally Porter-stem (NLTK's stemmer) tokens longer than 3 characters; drop empty tokens.
/// ROUGE-N: clipped n-gram overlap, P = overlap / max(#pred n-grams, 1), R = overlap / max(#target, 1).
/// ROUGE-L: LCS over the token sequences (0 if either is empty). ROUGE-Lsum: sentences are the
/// non-empty lines; summary-level union LCS with counts that prevent double counting (Lin 2004, §3.2,
/// as ROUGE-1.5.5 does). F = 2PR / (P + R), 0 when P + R = 0.
/// Note: rouge-score lower-cases with Python's str.lower() before dropping non-ASCII; ToLowerInvariant
/// matches it for ASCII, and non-ASCII letters are dropped either way.
/// </summary>
public sealed class RougeScorer(bool useStemmer)
{
    public bool UseStemmer { get; } = useStemmer;

    public List<string> Tokenize(string text)
    {
        var lower = text.ToLowerInvariant();
        var tokens = new List<string>();
        var sb = new StringBuilder();
        foreach (char c in lower)
        {
            if (c is >= 'a' and <= 'z' or >= '0' and <= '9') { sb.Append(c); continue; }
            Flush();
        }
        Flush();
        return tokens;

        void Flush()
        {
            if (sb.Length == 0) return;
            var t = sb.ToString();
            sb.Clear();
            if (UseStemmer && t.Length > 3) t = PorterStemmer.Stem(t);
            if (t.Length > 0) tokens.Add(t);
        }
    }

    public RougeScores Score(string target, string prediction)
    {
        var t = Tokenize(target);
        var p = Tokenize(prediction);
        var ts = Sentences(target).Select(Tokenize).ToList();
        var ps = Sentences(prediction).Select(Tokenize).ToList();
        return new RougeScores(Ngrams(t, p, 1), Ngrams(t, p, 2), Lcs(t, p), SummaryLcs(ts, ps), t.Count, p.Count);
    }

    static IEnumerable<string> Sentences(string text) => text.Split('\n').Where(s => s.Length > 0);

    static Dictionary<string, int> Count(List<string> tokens, int n)
    {
        var d = new Dictionary<string, int>();
        for (int i = 0; i + n <= tokens.Count; i++)
        {
            var key = string.Join(' ', tokens.Skip(i).Take(n));
            d[key] = d.GetValueOrDefault(key) + 1;
        }
        return d;
    }

    static RougeScore Ngrams(List<string> target, List<string> prediction, int n)
    {
        var t = Count(target, n);
        var p = Count(prediction, n);
        int overlap = t.Sum(kv => Math.Min(kv.Value, p.GetValueOrDefault(kv.Key)));
        return RougeScore.From((double)overlap / Math.Max(p.Values.Sum(), 1), (double)overlap / Math.Max(t.Values.Sum(), 1));
    }

    // table: (|r| + 1, |c| + 1), table[i, j] = LCS length of r[..i] and c[..j]
    static int[,] LcsTable(List<string> r, List<string> c)
    {
        var table = new int[r.Count + 1, c.Count + 1];
        for (int i = 1; i <= r.Count; i++)
            for (int j = 1; j <= c.Count; j++)
                table[i, j] = r[i - 1] == c[j - 1] ? table[i - 1, j - 1] + 1 : Math.Max(table[i - 1, j], table[i, j - 1]);
        return table;
    }

    static RougeScore Lcs(List<string> target, List<string> prediction)
    {
        if (target.Count == 0 || prediction.Count == 0) return default;
        int lcs = LcsTable(target, prediction)[target.Count, prediction.Count];
        return RougeScore.From((double)lcs / prediction.Count, (double)lcs / target.Count);
    }

    /// <summary>One LCS as indices into <paramref name="r"/>, read back as rouge-score's _backtrack_norec does (ties go up).</summary>
    static List<int> LcsIndices(List<string> r, List<string> c)
    {
        var t = LcsTable(r, c);
        var lcs = new List<int>();
        int i = r.Count, j = c.Count;
        while (i > 0 && j > 0)
        {
            if (r[i - 1] == c[j - 1]) { lcs.Add(i - 1); i--; j--; }
            else if (t[i, j - 1] > t[i - 1, j]) j--;
            else i--;
        }
        lcs.Reverse();
        return lcs;
    }

    static RougeScore SummaryLcs(List<List<string>> refSents, List<List<string>> canSents)
    {
        if (refSents.Count == 0 || canSents.Count == 0) return default;
        int m = refSents.Sum(s => s.Count), n = canSents.Sum(s => s.Count);
        if (m == 0 || n == 0) return default;
        var cntR = new Dictionary<string, int>();
        var cntC = new Dictionary<string, int>();
        foreach (var s in refSents) foreach (var tok in s) cntR[tok] = cntR.GetValueOrDefault(tok) + 1;
        foreach (var s in canSents) foreach (var tok in s) cntC[tok] = cntC.GetValueOrDefault(tok) + 1;
        int hits = 0;
        foreach (var r in refSents)
        {
            var union = new SortedSet<int>();
            foreach (var c in canSents) union.UnionWith(LcsIndices(r, c));
            foreach (var idx in union)
            {
                var tok = r[idx];
                if (cntC.GetValueOrDefault(tok) > 0 && cntR.GetValueOrDefault(tok) > 0) { hits++; cntC[tok]--; cntR[tok]--; }
            }
        }
        return RougeScore.From((double)hits / n, (double)hits / m);
    }
}
