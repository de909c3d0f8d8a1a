using System.Text.Json;

namespace Distill.Training.Tests;

/// <summary>Reads reference/losses_golden.json (written by reference/losses_reference.py with torch 1.13, float64).</summary>
internal static class Golden
{
    static readonly Lazy<JsonElement> Root = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Distill.slnx"))) dir = dir.Parent;
        if (dir is null) throw new InvalidOperationException($"no Distill.slnx above {AppContext.BaseDirectory}");
        var path = Path.Combine(dir.FullName, "tests", "Distill.Training.Tests", "reference", "losses_golden.json");
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement.Clone();
    });

    public static JsonElement Get(string name) => Root.Value.GetProperty(name);

    public static float[] Floats(this JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
    public static double[] Doubles(this JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(v => v.GetDouble()).ToArray();
    public static int[] Ints(this JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(v => v.GetInt32()).ToArray();
    public static double D(this JsonElement e, string name) => e.GetProperty(name).GetDouble();
    public static int I(this JsonElement e, string name) => e.GetProperty(name).GetInt32();

    /// <summary>|a − e| ≤ tol·(|e| + max|e|), the magnitude-scaled comparison used across the loss tests.</summary>
    public static void Close(string what, ReadOnlySpan<float> actual, double[] expected, double tol)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Length == 0 ? 0 : expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= tol * (Math.Abs(expected[i]) + scale),
                $"{what}[{i}]: {actual[i]:G9} vs torch {expected[i]:G9}");
    }

    public static void Close(string what, double actual, double expected, double tol)
        => Assert.True(Math.Abs(actual - expected) <= tol * (1 + Math.Abs(expected)), $"{what}: {actual:G9} vs torch {expected:G9}");
}
