namespace Distill.Evaluation.Judge;

/// <summary>
/// The pairwise judge prompt: MT-Bench's "pair-v2" system prompt and template (Zheng et al. 2023,
/// FastChat llm_judge/data/judge_prompts.jsonl), quoted in docs/judge-prompt.md. The DPO-KD
/// paper's own appendix-B prompt could not be found in the sources available here, so this is
/// the convention REFERENCE.md names; swap <see cref="System"/> when the paper's text is at hand.
/// </summary>
public static class JudgePrompt
{
    public const string System =
        "Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants to the user question displayed below. " +
        "You should choose the assistant that follows the user's instructions and answers the user's question better. " +
        "Your evaluation should consider factors such as the helpfulness, relevance, accuracy, depth, creativity, and level of detail of their responses. " +
        "Begin your evaluation by comparing the two responses and provide a short explanation. " +
        "Avoid any position biases and ensure that the order in which the responses were presented does not influence your decision. " +
        "Do not allow the length of the responses to influence your evaluation. Do not favor certain names of the assistants. Be as objective as possible. " +
        "After providing your explanation, output your final verdict by strictly following this format: " +
        "\"[[A]]\" if assistant A is better, \"[[B]]\" if assistant B is better, and \"[[C]]\" for a tie.";

    /// <summary>The user template with FastChat's placeholders (see <see cref="JudgePromptTemplate"/>).</summary>
    public const string UserTemplate =
        "[User Question]\n{question}\n\n" +
        "[The Start of Assistant A's Answer]\n{answer_a}\n[The End of Assistant A's Answer]\n\n" +
        "[The Start of Assistant B's Answer]\n{answer_b}\n[The End of Assistant B's Answer]";

    public static string User(string question, string answerA, string answerB) =>
        JudgePromptTemplate.Default.User(question, answerA, answerB);
}
