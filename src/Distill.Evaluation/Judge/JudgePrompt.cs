namespace Distill.Evaluation.Judge;

/// <summary>
/// The texts of the pairwise judge prompts Distill ships, quoted in docs/judge-prompt.md.
/// <list type="bullet">
/// <item><see cref="DpoKdSystem"/>: the DPO-KD paper's judge prompt (Chung et al., "Empowering Small
/// Models: DPO-Assisted Knowledge Distillation for Alignment with Large Language Models", Appendix B
/// "LLM as a Judge Prompt"; used in §4.3–4.4 with GPT-4 Turbo). It is MT-Bench's pair-v2 with two
/// changes: it asks for point-by-point high-level explanations, and it prefers concise answers that
/// follow the instructions without unrelated content where pair-v2 says not to let length matter.</item>
/// <item><see cref="MtBenchPairV2System"/>: MT-Bench's "pair-v2" (Zheng et al. 2023, FastChat
/// fastchat/llm_judge/data/judge_prompts.jsonl), the paper's reference [8].</item>
/// </list>
/// The paper gives only the system prompt; following its reference [8], both use pair-v2's user
/// template (<see cref="UserTemplate"/>) and its verdict format [[A]]/[[B]]/[[C]].
/// </summary>
public static class JudgePrompt
{
    /// <summary>DPO-KD paper, Appendix B, verbatim (the paper's outer quotation marks removed).</summary>
    public const string DpoKdSystem =
        "Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants to the user question displayed below. " +
        "Preferred responses should have point-by-point high-level explanations. " +
        "You should choose the assistant that follows the user's instructions and answers the user's question better. " +
        "Your evaluation should consider factors such as the helpfulness, relevance, accuracy, depth, creativity, and level of detail of their responses. " +
        "Begin your evaluation by comparing the two responses and provide a short explanation. " +
        "Avoid any position biases and ensure that the order in which the responses were presented does not influence your decision. " +
        "Prefer answers that are more concise, more directly follow the instructions, and don't have additional content not related to the instructions. " +
        "Do not favor certain names of the assistants. Be as objective as possible. " +
        "After providing your explanation, output your final verdict by strictly following this format: " +
        "\"[[A]]\" if assistant A is better, \"[[B]]\" if assistant B is better, and \"[[C]]\" for a tie.";

    /// <summary>MT-Bench pair-v2's system prompt.</summary>
    public const string MtBenchPairV2System =
        "Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants to the user question displayed below. " +
        "You should choose the assistant that follows the user's instructions and answers the user's question better. " +
        "Your evaluation should consider factors such as the helpfulness, relevance, accuracy, depth, creativity, and level of detail of their responses. " +
        "Begin your evaluation by comparing the two responses and provide a short explanation. " +
        "Avoid any position biases and ensure that the order in which the responses were presented does not influence your decision. " +
        "Do not allow the length of the responses to influence your evaluation. Do not favor certain names of the assistants. Be as objective as possible. " +
        "After providing your explanation, output your final verdict by strictly following this format: " +
        "\"[[A]]\" if assistant A is better, \"[[B]]\" if assistant B is better, and \"[[C]]\" for a tie.";

    /// <summary>MT-Bench pair-v2's user template with FastChat's placeholders (see <see cref="JudgePromptTemplate"/>).</summary>
    public const string UserTemplate =
        "[User Question]\n{question}\n\n" +
        "[The Start of Assistant A's Answer]\n{answer_a}\n[The End of Assistant A's Answer]\n\n" +
        "[The Start of Assistant B's Answer]\n{answer_b}\n[The End of Assistant B's Answer]";
}
