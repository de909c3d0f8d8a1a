using Distill.Methods.Runs;

namespace Distill.Methods.ScaleOut;

/// <summary>Which TRL trainer a recipe becomes.</summary>
public enum TrlTrainer
{
    /// <summary>SFTTrainer: sft, seqkd (on the teacher's answers), persd with persd.train_on = sft.</summary>
    Sft,
    /// <summary>GKDTrainer: token-kd.</summary>
    Gkd,
    /// <summary>DPOTrainer: dpo-kd-offline, dpo-kd-online (iterations of generate + DPO), persd with dpo/ipo/hinge.</summary>
    Dpo,
    /// <summary>PladTrainer, a DPOTrainer subclass with PLaD's calibration losses: plad, persd with plad-rank/plad-margin.</summary>
    Plad,
}

/// <summary>
/// A recipe's settings in TRL's terms (trl 0.24.0, transformers' TrainingArguments, peft's LoraConfig, transformers'
/// BitsAndBytesConfig): what the generated train.py passes. Settings TRL has no equivalent for are refused here, naming
/// the recipe key, never dropped silently.
/// </summary>
public sealed class TrlSettings
{
    public required string Method { get; init; }
    public required TrlTrainer Trainer { get; init; }
    public required Recipe Recipe { get; init; }

    /// <summary>DPO: TRL's loss_type (sigmoid, ipo, hinge).</summary>
    public string LossType { get; init; } = "sigmoid";
    public double Beta { get; init; }
    /// <summary>PLaD: plad-rank or plad-margin.</summary>
    public string PladLoss { get; init; } = "";
    /// <summary>PLaD: length-normalised log-likelihood (TRL's "ipo" path divides the summed log-probs by the lengths).</summary>
    public bool PladLengthNormalized { get; init; } = true;
    /// <summary>GKD: TRL's beta, or null when the divergence needs Distill's own loss (<see cref="GkdCustomLoss"/>).</summary>
    public double? GkdBeta { get; init; }
    public bool GkdCustomLoss { get; init; }
    public int Iterations { get; init; } = 1;

    public static TrlSettings From(Recipe r)
    {
        var method = r.Method;
        switch (method)
        {
            case "sft" or "seqkd":
                return new TrlSettings { Method = method, Trainer = TrlTrainer.Sft, Recipe = r };
            case "token-kd":
            {
                // TRL 0.24 GKDTrainer.generalized_jsd_loss: beta = 0 → F.kl_div(student_log_probs, teacher_log_probs) =
                // KL(teacher ‖ student), the forward KL; beta = 1 → KL(student ‖ teacher), the reverse KL; otherwise
                // β KL(teacher ‖ m) + (1−β) KL(student ‖ m), m = β teacher + (1−β) student — Distill's js with the same β.
                // Its loss is computed at temperature 1 (GKDConfig.temperature is the sampling temperature), so a
                // KD temperature ≠ 1 or another divergence takes Distill's loss in a GKDTrainer subclass.
                var div = r.String("train.kd.divergence");
                double tau = r.Float("train.kd.temperature");
                double? beta = div switch { "forward_kl" => 0.0, "reverse_kl" => 1.0, "js" => r.Float("train.kd.beta"), _ => null };
                return new TrlSettings { Method = method, Trainer = TrlTrainer.Gkd, Recipe = r, GkdBeta = beta, GkdCustomLoss = beta is null || tau != 1.0 };
            }
            case "dpo-kd-offline" or "dpo-kd-online":
            {
                var loss = r.String("preference.loss");
                var lossType = PreferenceLossType(loss, method, "preference.loss");
                CheckLengthNormalization(r, loss == "ipo");
                return new TrlSettings
                {
                    Method = method, Trainer = TrlTrainer.Dpo, Recipe = r, LossType = lossType, Beta = r.Float("preference.beta"),
                    Iterations = method == "dpo-kd-online" ? (int)r.Int("preference.iterations") : 1,
                };
            }
            case "plad":
            {
                var loss = r.String("preference.loss");
                loss = loss == "auto" ? "plad-rank" : loss;
                if (loss is not "plad-rank" and not "plad-margin")
                    throw Refuse(r, "preference.loss", $"'{loss}' with method plad: the TRL export writes PLaD's calibration losses (plad-rank, plad-margin)");
                var plad = new TrlSettings
                {
                    Method = method, Trainer = TrlTrainer.Plad, Recipe = r, PladLoss = loss, Beta = 1.0,
                    PladLengthNormalized = r.String("preference.length_normalization") != "off",
                };
                if (r.Float("plad.relabel_fraction") > 0 || r.String("plad.scorer") != "none")
                    plad.Notes.Add("plad.scorer / plad.relabel_fraction: the pairs (and their chosen_score / rejected_score) are the Distill run's; TRL only trains on them");
                return plad;
            }
            case "persd":
            {
                var on = r.String("persd.train_on");
                if (on == "sft") return new TrlSettings { Method = method, Trainer = TrlTrainer.Sft, Recipe = r };
                if (on is "plad-rank" or "plad-margin")
                {
                    if (on == "plad-margin") throw Refuse(r, "persd.train_on", "plad-margin needs scores, and PERsD's pairs (refinement ≻ attempt) have none; use plad-rank or dpo");
                    return new TrlSettings { Method = method, Trainer = TrlTrainer.Plad, Recipe = r, PladLoss = on, Beta = 1.0,
                        PladLengthNormalized = r.String("preference.length_normalization") != "off" };
                }
                CheckLengthNormalization(r, on == "ipo");
                return new TrlSettings { Method = method, Trainer = TrlTrainer.Dpo, Recipe = r, LossType = PreferenceLossType(on, method, "persd.train_on"), Beta = r.Float("persd.beta") };
            }
            default:
                throw Refuse(r, "method", $"'{method}' has no TRL export");
        }
    }

    /// <summary>Distill's preference loss → TRL's DPOConfig.loss_type (Rafailov Eq. 7 = sigmoid with cDPO label smoothing; IPO; SLiC hinge).</summary>
    static string PreferenceLossType(string loss, string method, string key) => loss switch
    {
        "auto" or "dpo" => "sigmoid",
        "ipo" => "ipo",
        "hinge" => "hinge",
        _ => throw new RecipeException("recipe", null, key, $"'{loss}' with method {method}: the TRL export maps dpo, ipo and hinge to DPOTrainer's loss_type"),
    };

    /// <summary>TRL sums log-probs for sigmoid/hinge and averages them for ipo, with no switch: another choice is refused.</summary>
    static void CheckLengthNormalization(Recipe r, bool ipo)
    {
        var ln = r.String("preference.length_normalization");
        if (ln == "on" && !ipo || ln == "off" && ipo)
            throw Refuse(r, "preference.length_normalization", $"'{ln}': TRL's DPOTrainer averages the log-probabilities for ipo and sums them otherwise, with no option to change it; use auto");
    }

    static RecipeException Refuse(Recipe r, string key, string why) => new(r.SourcePath ?? "recipe", null, key, why + " (docs/scale-out.md)");

    /// <summary>What the user should know about the mapping (printed, and written to the project's README).</summary>
    public List<string> Notes { get; } = [];
}
