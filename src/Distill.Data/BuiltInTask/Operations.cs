using System.Numerics;
using static Distill.Data.BuiltInTask.PyType;

namespace Distill.Data.BuiltInTask;

/// <summary>
/// The catalogue of steps: filters, maps, reductions and string operations over lists of integers,
/// strings, integers and lists of words. Ids are part of every problem's identity (its hash and
/// shard): add steps freely, but never change what an existing id means or how it is written.
/// </summary>
public static class Operations
{
    static List<BigInteger> AsInts(object v) => (List<BigInteger>)v;
    static List<string> AsStrs(object v) => (List<string>)v;
    static BigInteger AsInt(object v) => (BigInteger)v;
    static string AsStr(object v) => (string)v;
    static BigInteger N(int n) => new(n);

    static Operation Op(string id, PyType i, PyType o, string slug, Func<string, string> py, Func<object, object> eval, string[] clauses, params string[] finals)
        => new(id, i, o, slug, py, eval, clauses, finals);

    static IEnumerable<Operation> IntLists()
    {
        yield return Op("keep_even", IntList, IntList, "evens", v => $"[x for x in {v} if x % 2 == 0]",
            v => AsInts(v).Where(x => x.IsEven).ToList(),
            ["keep only the even numbers", "remove the odd numbers", "discard every odd value", "filter out the odd numbers"]);
        yield return Op("keep_odd", IntList, IntList, "odds", v => $"[x for x in {v} if x % 2 == 1]",
            v => AsInts(v).Where(x => !x.IsEven).ToList(),
            ["keep only the odd numbers", "remove the even numbers", "discard every even value", "filter out the even numbers"]);
        yield return Op("keep_positive", IntList, IntList, "positives", v => $"[x for x in {v} if x > 0]",
            v => AsInts(v).Where(x => x.Sign > 0).ToList(),
            ["keep only the positive numbers", "drop the numbers that are zero or negative", "remove everything that is not strictly positive"]);
        yield return Op("keep_negative", IntList, IntList, "negatives", v => $"[x for x in {v} if x < 0]",
            v => AsInts(v).Where(x => x.Sign < 0).ToList(),
            ["keep only the negative numbers", "drop the numbers that are zero or positive"]);
        foreach (var k in new[] { 2, 3, 5, 7, 10 })
            yield return Op($"keep_gt({k})", IntList, IntList, $"above_{k}", v => $"[x for x in {v} if x > {k}]",
                v => AsInts(v).Where(x => x > k).ToList(),
                [$"keep the numbers greater than {k}", $"remove every number that is not above {k}", $"keep only values strictly larger than {k}"]);
        foreach (var k in new[] { 0, 4, 6, 10 })
            yield return Op($"keep_lt({k})", IntList, IntList, $"below_{k}", v => $"[x for x in {v} if x < {k}]",
                v => AsInts(v).Where(x => x < k).ToList(),
                [$"keep the numbers less than {k}", $"remove every number that is {k} or more", $"keep only values strictly smaller than {k}"]);
        foreach (var k in new[] { 3, 4, 5 })
        {
            yield return Op($"keep_multiple({k})", IntList, IntList, $"multiples_of_{k}", v => $"[x for x in {v} if x % {k} == 0]",
                v => AsInts(v).Where(x => PyValue.Mod(x, k).IsZero).ToList(),
                [$"keep only the multiples of {k}", $"keep the numbers divisible by {k}", $"remove every number that {k} does not divide"]);
            yield return Op($"drop_multiple({k})", IntList, IntList, $"not_multiples_of_{k}", v => $"[x for x in {v} if x % {k} != 0]",
                v => AsInts(v).Where(x => !PyValue.Mod(x, k).IsZero).ToList(),
                [$"remove the multiples of {k}", $"drop every number divisible by {k}", $"keep only the numbers that are not divisible by {k}"]);
        }
        foreach (var k in new[] { 2, 3, 4, 5, 10 })
            yield return Op($"times({k})", IntList, IntList, $"times_{k}", v => $"[x * {k} for x in {v}]",
                v => AsInts(v).Select(x => x * k).ToList(),
                [$"multiply each number by {k}", $"scale every element by a factor of {k}", $"replace every number with {k} times its value"]);
        foreach (var k in new[] { 1, 2, 3, 5, 10 })
        {
            yield return Op($"plus({k})", IntList, IntList, $"plus_{k}", v => $"[x + {k} for x in {v}]",
                v => AsInts(v).Select(x => x + k).ToList(),
                [$"add {k} to each number", $"increase every element by {k}", $"shift every value up by {k}"]);
            yield return Op($"minus({k})", IntList, IntList, $"minus_{k}", v => $"[x - {k} for x in {v}]",
                v => AsInts(v).Select(x => x - k).ToList(),
                [$"subtract {k} from each number", $"decrease every element by {k}", $"shift every value down by {k}"]);
        }
        yield return Op("square", IntList, IntList, "squared", v => $"[x * x for x in {v}]",
            v => AsInts(v).Select(x => x * x).ToList(),
            ["square each number", "replace every number with its square", "multiply each element by itself"]);
        yield return Op("abs", IntList, IntList, "absolute", v => $"[abs(x) for x in {v}]",
            v => AsInts(v).Select(BigInteger.Abs).ToList(),
            ["take the absolute value of each number", "make every number non-negative by dropping its sign", "replace each element with its absolute value"]);
        yield return Op("negate", IntList, IntList, "negated", v => $"[-x for x in {v}]",
            v => AsInts(v).Select(x => -x).ToList(),
            ["negate every number", "flip the sign of each element"]);
        foreach (var k in new[] { 3, 4, 7 })
            yield return Op($"mod({k})", IntList, IntList, $"mod_{k}", v => $"[x % {k} for x in {v}]",
                v => AsInts(v).Select(x => PyValue.Mod(x, k)).ToList(),
                [$"replace each number by its remainder when divided by {k}", $"take every element modulo {k}", $"reduce each number modulo {k}"]);
        yield return Op("sort", IntList, IntList, "sorted", v => $"sorted({v})",
            v => AsInts(v).Order().ToList(),
            ["sort the numbers in ascending order", "arrange the numbers from smallest to largest", "put the list in increasing order"]);
        yield return Op("sort_desc", IntList, IntList, "sorted_desc", v => $"sorted({v}, reverse=True)",
            v => AsInts(v).OrderDescending().ToList(),
            ["sort the numbers in descending order", "arrange the numbers from largest to smallest", "put the list in decreasing order"]);
        yield return Op("reverse", IntList, IntList, "reversed", v => $"{v}[::-1]",
            v => Enumerable.Reverse(AsInts(v)).ToList(),
            ["reverse the order of the numbers", "flip the list so the last element comes first", "reverse the list"]);
        yield return Op("unique", IntList, IntList, "unique", v => $"list(dict.fromkeys({v}))",
            v => AsInts(v).Distinct().ToList(),
            ["remove duplicates, keeping the first occurrence of each number", "drop repeated values while preserving the original order", "keep each distinct number once, in order of first appearance"]);
        foreach (var k in new[] { 2, 3 })
        {
            yield return Op($"take({k})", IntList, IntList, $"first_{k}", v => $"{v}[:{k}]",
                v => AsInts(v).Take(k).ToList(),
                [$"keep only the first {k} numbers", $"cut the list down to its first {k} elements", $"take at most the first {k} values"]);
            yield return Op($"skip({k})", IntList, IntList, $"skip_{k}", v => $"{v}[{k}:]",
                v => AsInts(v).Skip(k).ToList(),
                [$"drop the first {k} numbers", $"skip the first {k} elements", $"remove the first {k} values of the list"]);
        }
        // reductions
        yield return Op("sum", IntList, Int, "sum", v => $"sum({v})", v => AsInts(v).Aggregate(BigInteger.Zero, (a, x) => a + x),
            ["add the numbers up", "compute their sum", "take the total of the numbers"],
            "return their sum", "return the sum of the numbers", "return the total");
        yield return Op("count", IntList, Int, "count", v => $"len({v})", v => N(AsInts(v).Count),
            ["count the numbers", "count how many numbers there are"],
            "return how many numbers there are", "return the number of elements", "return the count");
        yield return Op("max", IntList, Int, "max", v => $"max({v}, default=0)", v => AsInts(v).Count == 0 ? BigInteger.Zero : AsInts(v).Max(),
            ["find the largest number (0 if there is none)", "take the maximum, or 0 for an empty list"],
            "return the largest number, or 0 if there are none", "return the maximum (0 when the list is empty)");
        yield return Op("min", IntList, Int, "min", v => $"min({v}, default=0)", v => AsInts(v).Count == 0 ? BigInteger.Zero : AsInts(v).Min(),
            ["find the smallest number (0 if there is none)", "take the minimum, or 0 for an empty list"],
            "return the smallest number, or 0 if there are none", "return the minimum (0 when the list is empty)");
        yield return Op("spread", IntList, Int, "spread", v => $"max({v}) - min({v}) if {v} else 0",
            v => AsInts(v).Count == 0 ? BigInteger.Zero : AsInts(v).Max() - AsInts(v).Min(),
            ["compute the difference between the largest and the smallest number (0 for an empty list)"],
            "return the difference between the largest and smallest number, or 0 if the list is empty", "return max minus min (0 when there are no numbers)");
        yield return Op("first", IntList, Int, "first", v => $"{v}[0] if {v} else -1", v => AsInts(v).Count == 0 ? N(-1) : AsInts(v)[0],
            ["take the first number (-1 if there is none)"],
            "return the first number, or -1 if the list is empty", "return the element at the front, or -1 when nothing is left");
        yield return Op("last", IntList, Int, "last", v => $"{v}[-1] if {v} else -1", v => AsInts(v).Count == 0 ? N(-1) : AsInts(v)[^1],
            ["take the last number (-1 if there is none)"],
            "return the last number, or -1 if the list is empty", "return the element at the end, or -1 when nothing is left");
        yield return Op("all_positive", IntList, Bool, "all_positive", v => $"all(x > 0 for x in {v})", v => AsInts(v).All(x => x.Sign > 0),
            [], "return True if every number is positive and False otherwise", "check whether all the numbers are greater than zero");
        yield return Op("any_even", IntList, Bool, "any_even", v => $"any(x % 2 == 0 for x in {v})", v => AsInts(v).Any(x => x.IsEven),
            [], "return True if at least one number is even", "check whether any of the numbers is even");
        yield return Op("is_sorted", IntList, Bool, "is_sorted", v => $"{v} == sorted({v})", v => AsInts(v).SequenceEqual(AsInts(v).Order()),
            [], "return True if the numbers are in non-decreasing order", "check whether the list is sorted in ascending order");
        yield return Op("join_commas", IntList, Str, "joined", v => $"','.join(str(x) for x in {v})", v => string.Join(",", AsInts(v)),
            ["join the numbers into one string separated by commas"],
            "return the numbers written as one comma-separated string", "return a string of the numbers joined by commas, with no spaces");
    }

    static IEnumerable<Operation> Integers()
    {
        yield return Op("digit_sum", Int, Int, "digit_sum", v => $"sum(int(d) for d in str(abs({v})))",
            v => N(BigInteger.Abs(AsInt(v)).ToString().Sum(c => c - '0')),
            ["add up its decimal digits", "compute the sum of its digits (ignoring the sign)"],
            "return the sum of its digits, ignoring the sign", "return the digit sum of its absolute value");
        yield return Op("digit_count", Int, Int, "digit_count", v => $"len(str(abs({v})))", v => N(BigInteger.Abs(AsInt(v)).ToString().Length),
            ["count its decimal digits"], "return how many digits it has (ignoring the sign)", "return the number of decimal digits of its absolute value");
        yield return Op("reverse_digits", Int, Int, "reversed_digits", v => $"int(str(abs({v}))[::-1])",
            v => BigInteger.Parse(new string(BigInteger.Abs(AsInt(v)).ToString().Reverse().ToArray())),
            ["reverse the digits of its absolute value"], "return the number formed by reversing the digits of its absolute value");
        yield return Op("int_square", Int, Int, "squared", v => $"{v} * {v}", v => AsInt(v) * AsInt(v),
            ["square it", "multiply it by itself"], "return its square", "return the number multiplied by itself");
        foreach (var k in new[] { 2, 3, 7 })
            yield return Op($"int_times({k})", Int, Int, $"times_{k}", v => $"{v} * {k}", v => AsInt(v) * k,
                [$"multiply it by {k}"], $"return it multiplied by {k}", $"return {k} times the value");
        foreach (var k in new[] { 1, 5, 10 })
            yield return Op($"int_plus({k})", Int, Int, $"plus_{k}", v => $"{v} + {k}", v => AsInt(v) + k,
                [$"add {k} to it"], $"return it plus {k}", $"return the value increased by {k}");
        foreach (var k in new[] { 3, 10 })
        {
            yield return Op($"int_mod({k})", Int, Int, $"mod_{k}", v => $"{v} % {k}", v => PyValue.Mod(AsInt(v), k),
                [$"take the remainder when dividing by {k}"], $"return its remainder modulo {k}", $"return what is left after dividing it by {k}");
            yield return Op($"int_div({k})", Int, Int, $"div_{k}", v => $"{v} // {k}", v => PyValue.FloorDiv(AsInt(v), k),
                [$"divide it by {k}, rounding down"], $"return it divided by {k}, rounded down (floor division)");
        }
        yield return Op("digits", Int, IntList, "digits", v => $"[int(d) for d in str(abs({v}))]",
            v => BigInteger.Abs(AsInt(v)).ToString().Select(c => N(c - '0')).ToList(),
            ["split it into the list of its decimal digits (ignoring the sign)", "turn its absolute value into a list of digits"],
            "return the list of its decimal digits, ignoring the sign");
        yield return Op("is_even", Int, Bool, "is_even", v => $"{v} % 2 == 0", v => AsInt(v).IsEven,
            [], "return True if it is even and False otherwise", "check whether it is even");
        yield return Op("digit_palindrome", Int, Bool, "is_palindrome", v => $"str(abs({v})) == str(abs({v}))[::-1]",
            v => BigInteger.Abs(AsInt(v)).ToString() is var s && s.SequenceEqual(s.Reverse()),
            [], "return True if its digits read the same backwards (ignoring the sign)", "check whether its absolute value is a palindrome");
        yield return Op("to_str", Int, Str, "text", v => $"str({v})", v => AsInt(v).ToString(),
            ["write it as a decimal string"], "return it written as a string");
        yield return Op("to_binary", Int, Str, "binary", v => $"format({v}, 'b')", v => PyValue.Binary(AsInt(v)),
            ["write it in binary (a minus sign for negative numbers, no prefix)"], "return its binary representation without the 0b prefix (with a minus sign if negative)");
    }

    static IEnumerable<Operation> Strings()
    {
        yield return Op("upper", Str, Str, "upper", v => $"{v}.upper()", v => AsStr(v).ToUpperInvariant(),
            ["convert it to upper case", "make every letter upper case"], "return it in upper case");
        yield return Op("title", Str, Str, "title", v => $"{v}.title()", v => PyValue.Title(AsStr(v)),
            ["capitalize the first letter of every word", "convert it to title case"], "return it in title case");
        yield return Op("swapcase", Str, Str, "swapped", v => $"{v}.swapcase()", v => PyValue.SwapCase(AsStr(v)),
            ["swap the case of every letter"], "return it with the case of every letter swapped");
        yield return Op("str_reverse", Str, Str, "reversed", v => $"{v}[::-1]", v => new string(AsStr(v).Reverse().ToArray()),
            ["reverse it", "write it backwards"], "return it reversed", "return the string read backwards");
        yield return Op("drop_vowels", Str, Str, "no_vowels", v => $"''.join(c for c in {v} if c not in 'aeiou')", v => new string(AsStr(v).Where(c => !"aeiou".Contains(c)).ToArray()),
            ["remove every lowercase vowel", "delete the letters a, e, i, o and u"], "return it without its lowercase vowels");
        yield return Op("drop_spaces", Str, Str, "no_spaces", v => $"{v}.replace(' ', '')", v => AsStr(v).Replace(" ", ""),
            ["remove all the spaces", "delete every space"], "return it with all the spaces removed");
        foreach (var (a, b) in new[] { ('a', 'o'), ('e', 'i'), ('s', 'z') })
            yield return Op($"replace({a},{b})", Str, Str, $"{a}_to_{b}", v => $"{v}.replace('{a}', '{b}')", v => AsStr(v).Replace(a, b),
                [$"replace every '{a}' with '{b}'", $"change each letter {a} into {b}"], $"return it with every '{a}' replaced by '{b}'");
        foreach (var k in new[] { 3, 5 })
            yield return Op($"prefix({k})", Str, Str, $"first_{k}", v => $"{v}[:{k}]", v => AsStr(v)[..Math.Min(k, AsStr(v).Length)],
                [$"keep only its first {k} characters"], $"return its first {k} characters");
        yield return Op("sort_chars", Str, Str, "sorted_chars", v => $"''.join(sorted({v}))", v => new string(AsStr(v).OrderBy(c => c).ToArray()),
            ["sort its characters (spaces come first)"], "return its characters in sorted order (by code point, so spaces come first)");
        yield return Op("unique_chars", Str, Str, "unique_chars", v => $"''.join(dict.fromkeys({v}))", v => new string(AsStr(v).Distinct().ToArray()),
            ["keep only the first occurrence of each character"], "return it with repeated characters removed, keeping the first occurrence of each");
        yield return Op("reverse_words", Str, Str, "reversed_words", v => $"' '.join({v}.split()[::-1])", v => string.Join(" ", Enumerable.Reverse(PyValue.Split(AsStr(v)))),
            ["reverse the order of its words"], "return its words in reverse order, separated by single spaces");
        yield return Op("str_len", Str, Int, "length", v => $"len({v})", v => N(AsStr(v).Length),
            ["count its characters"], "return its length", "return how many characters it has (spaces included)");
        yield return Op("count_vowels", Str, Int, "vowel_count", v => $"sum(1 for c in {v} if c in 'aeiou')", v => N(AsStr(v).Count(c => "aeiou".Contains(c))),
            ["count its lowercase vowels"], "return how many lowercase vowels (a, e, i, o, u) it contains", "return the number of vowels in it");
        foreach (var c in new[] { 'e', 'o' })
        {
            yield return Op($"count_char({c})", Str, Int, $"count_{c}", v => $"{v}.count('{c}')", v => N(AsStr(v).Count(x => x == c)),
                [$"count the letter '{c}' in it"], $"return how many times the letter '{c}' occurs in it");
            yield return Op($"find({c})", Str, Int, $"find_{c}", v => $"{v}.find('{c}')", v => N(AsStr(v).IndexOf(c)),
                [$"find the index of the first '{c}' (-1 if there is none)"], $"return the index of the first '{c}', or -1 if it does not occur");
        }
        yield return Op("word_count", Str, Int, "word_count", v => $"len({v}.split())", v => N(PyValue.Split(AsStr(v)).Count),
            ["count its words"], "return how many words it has", "return the number of space-separated words");
        yield return Op("words", Str, StrList, "words", v => $"{v}.split()", v => PyValue.Split(AsStr(v)),
            ["split it into words", "break it into a list of its words"], "return the list of its words");
        yield return Op("word_lengths", Str, IntList, "word_lengths", v => $"[len(w) for w in {v}.split()]", v => PyValue.Split(AsStr(v)).Select(w => N(w.Length)).ToList(),
            ["replace it with the list of its word lengths"], "return the length of each word, as a list");
        yield return Op("str_palindrome", Str, Bool, "is_palindrome", v => $"{v} == {v}[::-1]", v => AsStr(v).SequenceEqual(AsStr(v).Reverse()),
            [], "return True if it reads the same backwards", "check whether it is a palindrome (spaces count)");
    }

    static IEnumerable<Operation> WordLists()
    {
        foreach (var k in new[] { 3, 4, 5 })
            yield return Op($"longer_than({k})", StrList, StrList, $"longer_than_{k}", v => $"[w for w in {v} if len(w) > {k}]",
                v => AsStrs(v).Where(w => w.Length > k).ToList(),
                [$"keep only the words longer than {k} characters", $"drop every word with {k} or fewer letters"]);
        foreach (var c in new[] { 's', 't', 'm' })
            yield return Op($"starts_with({c})", StrList, StrList, $"starting_{c}", v => $"[w for w in {v} if w.startswith('{c}')]",
                v => AsStrs(v).Where(w => w.StartsWith(c)).ToList(),
                [$"keep only the words that start with '{c}'", $"drop the words that do not begin with the letter {c}"]);
        yield return Op("words_upper", StrList, StrList, "upper_words", v => $"[w.upper() for w in {v}]", v => AsStrs(v).Select(w => w.ToUpperInvariant()).ToList(),
            ["convert every word to upper case"]);
        yield return Op("words_capitalize", StrList, StrList, "capitalized", v => $"[w.capitalize() for w in {v}]", v => AsStrs(v).Select(PyValue.Capitalize).ToList(),
            ["capitalize each word"]);
        yield return Op("words_reverse_each", StrList, StrList, "mirrored", v => $"[w[::-1] for w in {v}]", v => AsStrs(v).Select(w => new string(w.Reverse().ToArray())).ToList(),
            ["reverse the letters of each word", "write every word backwards"]);
        yield return Op("words_sort", StrList, StrList, "sorted_words", v => $"sorted({v})", v => AsStrs(v).Order(StringComparer.Ordinal).ToList(),
            ["sort the words alphabetically", "put the words in alphabetical order"]);
        yield return Op("words_sort_len", StrList, StrList, "by_length", v => $"sorted({v}, key=len)", v => AsStrs(v).OrderBy(w => w.Length).ToList(),
            ["sort the words by length, keeping the original order among words of equal length"]);
        yield return Op("words_unique", StrList, StrList, "unique_words", v => $"list(dict.fromkeys({v}))", v => AsStrs(v).Distinct().ToList(),
            ["remove repeated words, keeping the first occurrence of each"]);
        yield return Op("words_reverse", StrList, StrList, "reversed_words", v => $"{v}[::-1]", v => Enumerable.Reverse(AsStrs(v)).ToList(),
            ["reverse the order of the words"]);
        yield return Op("join_space", StrList, Str, "sentence", v => $"' '.join({v})", v => string.Join(" ", AsStrs(v)),
            ["join the words with single spaces"], "return the words joined by single spaces");
        yield return Op("join_dash", StrList, Str, "dashed", v => $"'-'.join({v})", v => string.Join("-", AsStrs(v)),
            ["join the words with dashes"], "return the words joined by '-'");
        yield return Op("concat", StrList, Str, "concatenated", v => $"''.join({v})", v => string.Concat(AsStrs(v)),
            ["glue the words together with nothing between them"], "return all the words concatenated");
        yield return Op("longest", StrList, Str, "longest", v => $"max({v}, key=len, default='')",
            v => AsStrs(v).Aggregate("", (best, w) => w.Length > best.Length ? w : best),
            ["pick the longest word (the first one on ties, '' if there is none)"], "return the longest word, the first one if several tie, or '' if there are none");
        yield return Op("word_total", StrList, Int, "total_letters", v => $"sum(len(w) for w in {v})", v => N(AsStrs(v).Sum(w => w.Length)),
            ["add up the lengths of the words"], "return the total number of characters in the words");
        yield return Op("words_count", StrList, Int, "word_count", v => $"len({v})", v => N(AsStrs(v).Count),
            ["count the words"], "return how many words there are");
        yield return Op("lengths", StrList, IntList, "lengths", v => $"[len(w) for w in {v}]", v => AsStrs(v).Select(w => N(w.Length)).ToList(),
            ["replace each word with its length"], "return the list of the word lengths");
    }

    /// <summary>Every step, in a fixed order (the generator samples by index into this list).</summary>
    public static IReadOnlyList<Operation> All { get; } = IntLists().Concat(Integers()).Concat(Strings()).Concat(WordLists()).ToList();

    public static IReadOnlyDictionary<string, Operation> ById { get; } = All.ToDictionary(o => o.Id);
}
