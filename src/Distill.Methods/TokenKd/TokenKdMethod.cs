using Distill.Methods.Runs;
using Distill.Models;
using Distill.Tensors.Kernels.Losses;
using Distill.Text;
using Distill.Training.Objectives;
using Microsoft.Extensions.AI;

namespace Distill.Methods.TokenKd;

/// <summary>
/// Token-level KD from a local teacher sharing the student's vocabulary (Hinton et al. 2015; the divergences of
/// DistiLLM, Ko et al. 2024; GKD's on-policy mix, Agarwal et al. 2024): per completion token t,
/// D(p_T(·|y&lt;t, x) ‖ q_S(·|y&lt;t, x)) at temperature τ, averaged over completion tokens; with probability λ a
/// micro-batch's completions are the student's own samples, scored by the teacher (<see cref="TokenKdObjective"/>).
/// Stages: data, train. The teacher must be a model folder (its logits are needed), with the student's vocabulary.
/// </summary>
public sealed class TokenKdMethod : IRecipeMethod
{
    public const string MethodName = "token-kd";
    public string Name => MethodName;
    public string TrainingMethod => MethodName;
    public bool NeedsTeacher => true;

    public IReadOnlyList<IStage> Stages(RunDirectory dir, ITrainStage trainer, Func<RunContext, IChatClient>? teacher)
        => [new TrainStage(trainer, dir.DataFile(DataStage.Output))];

    /// <summary>
    /// Loads the teacher and checks that it shares the student's vocabulary: the same logit width and, when both
    /// folders hold a tokenizer.json, the same token for every id. The error names both folders and what differs.
    /// </summary>
    public static CausalLM LoadTeacher(string teacherDir, CausalLM student, string studentDir)
    {
        if (!File.Exists(Path.Combine(teacherDir, "config.json")))
            throw new ArgumentException($"token-level KD needs the teacher's logits: teacher '{teacherDir}' is not a local model folder (no config.json)");
        var teacher = ModelIO.Load(teacherDir);
        try
        {
            if (VocabularyDifference(teacherDir, teacher.Config.VocabSize, studentDir, student.Config.VocabSize) is { } why)
                throw new ArgumentException($"token-level KD needs a teacher sharing the student's vocabulary: {why}; " +
                    "use SeqKD (method seqkd), which needs only the teacher's text, for a teacher with another tokenizer");
            return teacher;
        }
        catch
        {
            teacher.Dispose();
            throw;
        }
    }

    /// <summary>Null when the two vocabularies agree; otherwise what differs, naming both models.</summary>
    public static string? VocabularyDifference(string teacherDir, int teacherVocab, string studentDir, int studentVocab)
    {
        if (teacherVocab != studentVocab)
            return $"teacher {teacherDir} has a vocabulary of {teacherVocab} tokens ({TokenizerName(teacherDir)}), student {studentDir} {studentVocab} ({TokenizerName(studentDir)})";
        if (!File.Exists(Path.Combine(teacherDir, "tokenizer.json")) || !File.Exists(Path.Combine(studentDir, "tokenizer.json"))) return null;
        var t = TokenizerLoader.Load(teacherDir);
        var s = TokenizerLoader.Load(studentDir);
        int n = Math.Min(teacherVocab, Math.Max(t.VocabSize, s.VocabSize));
        for (int id = 0; id < n; id++)
            if (t.IdToToken(id) != s.IdToToken(id))
                return $"both have {teacherVocab} tokens, but id {id} is {Show(t.IdToToken(id))} in the teacher's tokenizer ({teacherDir}/tokenizer.json) " +
                    $"and {Show(s.IdToToken(id))} in the student's ({studentDir}/tokenizer.json)";
        return null;
    }

    static string Show(string? token) => token is null ? "unassigned" : System.Text.Json.JsonSerializer.Serialize(token);

    static string TokenizerName(string dir)
        => File.Exists(Path.Combine(dir, "tokenizer.json")) ? $"tokenizer {Path.Combine(dir, "tokenizer.json")}" : "no tokenizer.json";

    public static TokenKdObjective Objective(CausalLM teacher, CausalLM student, DivergenceOptions divergence, double lambda, int maxNewTokens)
        => new(teacher, divergence, new OnPolicyOptions(lambda, 1f, maxNewTokens) { EosTokenIds = student.Config.EosTokenIds });
}
