namespace Distill.Evaluation.Rouge;

/// <summary>
/// The Porter stemmer exactly as NLTK's <c>PorterStemmer()</c> in its default NLTK_EXTENSIONS
/// mode, which is what rouge-score uses (<c>porter.PorterStemmer()</c> in rouge_scorer.py; nltk 3.8).
/// A port of nltk/stem/porter.py, step by step, for lower-case a–z words (rouge-score only stems
/// tokens of [a-z0-9] longer than 3 characters). Checked against Debian's python3-nltk on a word
/// list (tests/Distill.Evaluation.Tests/Data/rouge/, generator gen_rouge.py).
/// Porter, "An algorithm for suffix stripping", Program 14(3), 1980.
/// </summary>
public static class PorterStemmer
{
    // NLTK_EXTENSIONS: irregular forms looked up before stemming.
    static readonly Dictionary<string, string> Pool = new()
    {
        ["sky"] = "sky", ["skies"] = "sky", ["dying"] = "die", ["lying"] = "lie", ["tying"] = "tie",
        ["news"] = "news", ["innings"] = "inning", ["inning"] = "inning", ["outings"] = "outing", ["outing"] = "outing",
        ["cannings"] = "canning", ["canning"] = "canning", ["howe"] = "howe",
        ["proceed"] = "proceed", ["exceed"] = "exceed", ["succeed"] = "succeed",
    };

    delegate bool Condition(string stem);
    readonly record struct Rule(string Suffix, string Replacement, Condition? When);

    public static string Stem(string word)
    {
        var stem = word.ToLowerInvariant();
        if (Pool.TryGetValue(word, out var irregular)) return irregular;
        if (word.Length <= 2) return stem;
        stem = Step1a(stem);
        stem = Step1b(stem);
        stem = Step1c(stem);
        stem = Step2(stem);
        stem = Step3(stem);
        stem = Step4(stem);
        stem = Step5a(stem);
        stem = Step5b(stem);
        return stem;
    }

    static bool IsConsonant(string w, int i)
    {
        char c = w[i];
        if (c is 'a' or 'e' or 'i' or 'o' or 'u') return false;
        if (c == 'y') return i == 0 || !IsConsonant(w, i - 1);
        return true;
    }

    /// <summary>m in [C](VC){m}[V]: the number of "vc" transitions.</summary>
    static int Measure(string stem)
    {
        int m = 0;
        for (int i = 1; i < stem.Length; i++)
            if (!IsConsonant(stem, i - 1) && IsConsonant(stem, i)) m++;
        return m;
    }

    static bool PositiveMeasure(string stem) => Measure(stem) > 0;

    static bool ContainsVowel(string stem)
    {
        for (int i = 0; i < stem.Length; i++) if (!IsConsonant(stem, i)) return true;
        return false;
    }

    static bool EndsDoubleConsonant(string w) => w.Length >= 2 && w[^1] == w[^2] && IsConsonant(w, w.Length - 1);

    /// <summary>*o: ends consonant-vowel-consonant, last not w/x/y; NLTK also accepts a 2-letter vowel-consonant word.</summary>
    static bool EndsCvc(string w) =>
        (w.Length >= 3 && IsConsonant(w, w.Length - 3) && !IsConsonant(w, w.Length - 2) && IsConsonant(w, w.Length - 1) && w[^1] is not ('w' or 'x' or 'y'))
        || (w.Length == 2 && !IsConsonant(w, 0) && IsConsonant(w, 1));

    /// <summary>The first rule whose suffix matches decides: applied if its condition holds, else the word is kept.</summary>
    static string Apply(string word, Rule[] rules)
    {
        foreach (var (suffix, replacement, when) in rules)
        {
            if (suffix == "*d" && EndsDoubleConsonant(word))
            {
                var s = word[..^2];
                return when is null || when(s) ? s + replacement : word;
            }
            if (word.EndsWith(suffix, StringComparison.Ordinal))
            {
                var s = word[..^suffix.Length];
                return when is null || when(s) ? s + replacement : word;
            }
        }
        return word;
    }

    static string Step1a(string w)
    {
        if (w.EndsWith("ies", StringComparison.Ordinal) && w.Length == 4) return w[..^3] + "ie";
        return Apply(w, [new("sses", "ss", null), new("ies", "i", null), new("ss", "ss", null), new("s", "", null)]);
    }

    static string Step1b(string w)
    {
        if (w.EndsWith("ied", StringComparison.Ordinal)) return w[..^3] + (w.Length == 4 ? "ie" : "i");
        if (w.EndsWith("eed", StringComparison.Ordinal))
        {
            var s = w[..^3];
            return Measure(s) > 0 ? s + "ee" : w;
        }
        string? mid = null;
        foreach (var suffix in new[] { "ed", "ing" })
            if (w.EndsWith(suffix, StringComparison.Ordinal) && ContainsVowel(w[..^suffix.Length])) { mid = w[..^suffix.Length]; break; }
        if (mid is null) return w;
        char last = mid.Length > 0 ? mid[^1] : '\0';
        return Apply(mid,
        [
            new("at", "ate", null), new("bl", "ble", null), new("iz", "ize", null),
            new("*d", last.ToString(), _ => last is not ('l' or 's' or 'z')),
            new("", "e", s => Measure(s) == 1 && EndsCvc(s)),
        ]);
    }

    // NLTK: y → i only after a consonant that is not the whole stem ('happy' → 'happi', 'enjoy' kept).
    static string Step1c(string w) => Apply(w, [new("y", "i", s => s.Length > 1 && IsConsonant(s, s.Length - 1))]);

    static string Step2(string w)
    {
        if (w.EndsWith("alli", StringComparison.Ordinal) && PositiveMeasure(w[..^4])) return Step2(w[..^4] + "al");
        Condition p = PositiveMeasure;
        return Apply(w,
        [
            new("ational", "ate", p), new("tional", "tion", p), new("enci", "ence", p), new("anci", "ance", p),
            new("izer", "ize", p), new("bli", "ble", p), new("alli", "al", p), new("entli", "ent", p),
            new("eli", "e", p), new("ousli", "ous", p), new("ization", "ize", p), new("ation", "ate", p),
            new("ator", "ate", p), new("alism", "al", p), new("iveness", "ive", p), new("fulness", "ful", p),
            new("ousness", "ous", p), new("aliti", "al", p), new("iviti", "ive", p), new("biliti", "ble", p),
            new("fulli", "ful", p), new("logi", "log", _ => PositiveMeasure(w[..^3])),
        ]);
    }

    static string Step3(string w)
    {
        Condition p = PositiveMeasure;
        return Apply(w,
        [
            new("icate", "ic", p), new("ative", "", p), new("alize", "al", p), new("iciti", "ic", p),
            new("ical", "ic", p), new("ful", "", p), new("ness", "", p),
        ]);
    }

    static string Step4(string w)
    {
        Condition g = s => Measure(s) > 1;
        return Apply(w,
        [
            new("al", "", g), new("ance", "", g), new("ence", "", g), new("er", "", g), new("ic", "", g),
            new("able", "", g), new("ible", "", g), new("ant", "", g), new("ement", "", g), new("ment", "", g),
            new("ent", "", g), new("ion", "", s => Measure(s) > 1 && s.Length > 0 && s[^1] is 's' or 't'),
            new("ou", "", g), new("ism", "", g), new("ate", "", g), new("iti", "", g), new("ous", "", g),
            new("ive", "", g), new("ize", "", g),
        ]);
    }

    static string Step5a(string w)
    {
        if (!w.EndsWith('e')) return w;
        var s = w[..^1];
        int m = Measure(s);
        if (m > 1) return s;
        if (m == 1 && !EndsCvc(s)) return s;
        return w;
    }

    static string Step5b(string w) => Apply(w, [new("ll", "l", _ => Measure(w[..^1]) > 1)]);
}
