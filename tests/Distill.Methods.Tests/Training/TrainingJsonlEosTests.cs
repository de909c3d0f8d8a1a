using Distill.Methods.Training;
using Distill.Text;

namespace Distill.Methods.Tests.Training;

/// <summary>train.append_eos: a text completion gets the EOS id appended (TRL SFTTrainer's add_eos), once; ids are kept as given.</summary>
public sealed class TrainingJsonlEosTests
{
    [Fact]
    public void TextCompletionsGetEosOnce_IdsStayAsGiven()
    {
        var gpt2 = Distill.Data.RepoData.Find("tokenizers", "gpt2") ?? throw new InvalidOperationException("data/tokenizers/gpt2 not found");
        var tok = TokenizerLoader.Load(gpt2);
        var file = Path.Combine(Path.GetTempPath(), $"eos-{Guid.NewGuid():N}.jsonl");
        File.WriteAllText(file,
            "{\"prompt\":\"def f(x):\",\"completion\":\"    return x\"}\n" +
            "{\"prompt\":\"def g(x):\",\"completion_ids\":[220, 1441]}\n");
        try
        {
            const int eos = 50256;
            var plain = TrainingJsonl.Read(file, tok, preference: false, vocabSize: 50257);
            var withEos = TrainingJsonl.Read(file, tok, preference: false, vocabSize: 50257, eos: eos);
            Assert.Equal([.. plain[0].Completion, eos], withEos[0].Completion);
            Assert.NotEqual(eos, plain[0].Completion[^1]);
            Assert.Equal([220, 1441], withEos[1].Completion); // ids are used exactly as given
            Assert.Equal(plain[0].Prompt, withEos[0].Prompt);
        }
        finally { File.Delete(file); }
    }
}
