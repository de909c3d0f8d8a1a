using Distill.Methods.Runs;
using Distill.Methods.SeqKd;
using Distill.Methods.Sft;
using Distill.Methods.TokenKd;
using Microsoft.Extensions.AI;

namespace Distill.Methods;

/// <summary>
/// A distillation method as a recipe runs it: the stages it adds after `data` (and `models`), ending with the train
/// stage, and the training method (objective) that stage uses through <see cref="Training.TrainingSetup"/>. One
/// folder per method (Sft/, SeqKd/, TokenKd/); <see cref="RecipeMethods"/> lists them by their recipe name.
/// </summary>
public interface IRecipeMethod
{
    /// <summary>The recipe's `method:` value.</summary>
    string Name { get; }

    /// <summary>What the train stage optimizes: a <see cref="Training.TrainingSetup"/> method (sft, token-kd, ...).</summary>
    string TrainingMethod { get; }

    /// <summary>Whether the method needs a teacher (teacher.model or teacher.init).</summary>
    bool NeedsTeacher { get; }

    /// <summary>The stages after data (and models), the last one training the student.</summary>
    IReadOnlyList<IStage> Stages(RunDirectory dir, ITrainStage trainer, Func<RunContext, IChatClient>? teacher);
}

/// <summary>The methods a recipe may name.</summary>
public static class RecipeMethods
{
    public static IReadOnlyList<IRecipeMethod> All { get; } = [new SftMethod(), new SeqKdMethod(), new TokenKdMethod(), new DpoKd.DpoKdMethod(online: false), new DpoKd.DpoKdMethod(online: true), new Plad.PladMethod(), new Persd.PersdMethod()];

    public static IRecipeMethod? Find(string name) => All.FirstOrDefault(m => m.Name == name);
}
