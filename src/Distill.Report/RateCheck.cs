using System.Globalization;

namespace Distill.Report;

/// <summary>
/// results.json carries rates as fractions in [0, 1] (docs/report.md). A rate outside it (a percent written by mistake,
/// an interval upside down) would draw a wrong chart without a word, so the report refuses it, naming the model and field.
/// The gap closed is not checked: a method may do worse than the student (below 0) or better than the teacher (above 1).
/// </summary>
public static class RateCheck
{
    public static void Validate(DemoResults r)
    {
        foreach (var m in r.Models)
        {
            Check(m, "pass1", m.Pass1);
            foreach (var (k, e) in m.PassK ?? []) Check(m, $"pass_k.{k}", e);
            Check(m, "rouge1", m.Rouge1);
            Check(m, "rouge2", m.Rouge2);
            Check(m, "rouge_l", m.RougeL);
            Check(m, "reward_win_rate", m.RewardWinRate);
            Check(m, "judge_win_rate", m.JudgeWinRate);
            Check(m, "win_rate_vs_teacher", m.WinRateVsTeacher);
        }
        foreach (var p in r.PladFraction)
            if (!(p.X is >= 0 and <= 1) || !(p.Y is >= 0 and <= 1))
                throw new InvalidDataException($"plad_fraction: point ({F(p.X)}, {F(p.Y)}) is outside [0, 1]: both the fraction and the win rate are fractions");
    }

    static void Check(ModelResult m, string field, Estimate? e)
    {
        if (e is null) return;
        string where = $"model '{m.Name}', {field}";
        if (!(e.Mean is >= 0 and <= 1)) throw new InvalidDataException($"{where}: mean {F(e.Mean)} is outside [0, 1] (rates are fractions, not percent)");
        if (e.Lo is double lo && !(lo >= 0 && lo <= e.Mean + 1e-9)) throw new InvalidDataException($"{where}: lo {F(lo)} is not in [0, mean {F(e.Mean)}]");
        if (e.Hi is double hi && !(hi <= 1 && hi >= e.Mean - 1e-9)) throw new InvalidDataException($"{where}: hi {F(hi)} is not in [mean {F(e.Mean)}, 1]");
    }

    static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
