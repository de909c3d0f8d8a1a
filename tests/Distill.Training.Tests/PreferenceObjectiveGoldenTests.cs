using System.Text.Json;
using Distill.Tensors;
using Distill.Tensors.Autograd;
using Distill.Training.Losses;
using Distill.Training.Objectives;

namespace Distill.Training.Tests;

/// <summary>
/// The preference objective from logits to loss and dL/dlogits against reference/preference_reference.py (torch 1.13,
/// float64, written from the papers' equations): DPO (sigmoid, label smoothing, robust), hinge, IPO, the NLL term, and
/// PLaD's ranking (Eq. 4) and margin (Eq. 5) calibration losses with the temperature of §3.1 Eq. 1, with and without
/// length normalisation. Tolerance: 1e-6 relative (magnitude-scaled, as Golden.Close).
/// </summary>
public sealed class PreferenceObjectiveGoldenTests
{
    static readonly Lazy<JsonElement> Root = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Distill.slnx"))) dir = dir.Parent;
        var path = Path.Combine(dir!.FullName, "tests", "Distill.Training.Tests", "reference", "preference_golden.json");
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement.Clone();
    });

    static PreferenceOptions Options(JsonElement c)
    {
        var kind = c.GetProperty("kind").GetString()!;
        var (k, variant) = kind switch
        {
            "sigmoid" => (PreferenceLossKind.Dpo, DpoVariant.Sigmoid),
            "robust" => (PreferenceLossKind.Dpo, DpoVariant.Robust),
            "hinge" => (PreferenceLossKind.Hinge, DpoVariant.Sigmoid),
            "ipo" => (PreferenceLossKind.Ipo, DpoVariant.Sigmoid),
            "plad-rank" => (PreferenceLossKind.PladRank, DpoVariant.Sigmoid),
            _ => (PreferenceLossKind.PladMargin, DpoVariant.Sigmoid),
        };
        bool pladKind = k is PreferenceLossKind.PladRank or PreferenceLossKind.PladMargin;
        return new PreferenceOptions(k, pladKind ? 0.1f : (float)c.D("beta"), (float)c.D("labelSmoothing"), variant, (float)c.D("delta"))
        {
            Temperature = (float)c.D("temperature"),
            LengthNormalization = c.GetProperty("lengthNormalized").GetBoolean(),
            SftWeight = (float)c.D("sftWeight"),
        };
    }

    [Fact]
    public void LossAndLogitGradientsMatchTorch()
    {
        var g = Root.Value;
        int b = g.I("pairs"), t = g.I("seqLen"), v = g.I("vocab");
        float[] logitsData = g.Floats("logits");
        int[] labels = g.Ints("labels");
        float[] refSum = g.Floats("refSum"), refMean = g.Floats("refMean"), scores = g.Floats("scores");
        int n = 0;
        foreach (var c in g.GetProperty("cases").EnumerateArray())
        {
            var o = Options(c);
            o.Validate();
            var reference = o.LengthNormalized ? refMean : refSum;
            using var logits = new Parameter("logits", 2 * b * t, v);
            logitsData.CopyTo(logits.Span);
            using var tape = new Tape();
            var outp = PreferenceObjective.LossOnLogits(tape, logits.Value, labels, b, reference[..b], reference[b..], scores[..b], scores[b..], o, 1f);
            string what = $"{c.GetProperty("kind").GetString()} τ={o.Temperature} norm={o.LengthNormalized} λ={o.SftWeight}";
            Golden.Close(what + " loss", outp.Loss, c.D("loss"), 1e-6);
            Golden.Close(what + " dLogits", logits.Grad!.Span, c.Doubles("dLogits"), 1e-6);
            foreach (var m in c.GetProperty("metrics").EnumerateObject())
                Golden.Close($"{what} {m.Name}", outp.Metrics[m.Name], m.Value.GetDouble(), 1e-6);
            n++;
        }
        Assert.Equal(12, n);
    }

    [Fact]
    public void TemperatureIsRefusedForReferenceLosses()
    {
        var o = new PreferenceOptions(PreferenceLossKind.Dpo) { Temperature = 0.7f };
        var e = Assert.Throws<ArgumentOutOfRangeException>(o.Validate);
        Assert.Contains("PLaD losses only", e.Message);
    }

    [Fact]
    public void LengthNormalizationCanBeSwitchedOffForPlad()
    {
        Assert.True(new PreferenceOptions(PreferenceLossKind.PladRank).LengthNormalized);
        Assert.False(new PreferenceOptions(PreferenceLossKind.PladRank) { LengthNormalization = false }.LengthNormalized);
        Assert.False(new PreferenceOptions(PreferenceLossKind.Dpo).LengthNormalized);
    }
}
