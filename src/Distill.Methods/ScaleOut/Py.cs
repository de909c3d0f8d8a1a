using System.Globalization;
using System.Text.Json;

namespace Distill.Methods.ScaleOut;

/// <summary>Python literals for the generated scripts: every value a recipe holds, written so Python reads it back exactly.</summary>
static class Py
{
    static readonly JsonSerializerOptions Json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A JSON string literal is a valid Python str literal (the same escapes: \", \\, \n, \uXXXX).</summary>
    public static string Str(string s) => JsonSerializer.Serialize(s, Json);

    public static string Bool(bool b) => b ? "True" : "False";

    public static string Int(long i) => i.ToString(CultureInfo.InvariantCulture);

    /// <summary>Round-trip float text; an integral value keeps a ".0" so Python makes it a float.</summary>
    public static string Float(double d)
    {
        if (!double.IsFinite(d)) throw new ArgumentException($"not a finite number: {d}");
        var s = d.ToString("R", CultureInfo.InvariantCulture);
        return s.Contains('.') || s.Contains('E') ? s : s + ".0";
    }

    public static string List(IEnumerable<string> items) => "[" + string.Join(", ", items.Select(Str)) + "]";
}
