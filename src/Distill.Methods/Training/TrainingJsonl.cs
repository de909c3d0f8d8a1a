using Distill.Data.Jsonl;
using Distill.Text;
using Distill.Training.Data;

namespace Distill.Methods.Training;

/// <summary>
/// Training records from JSONL in TRL's column names: prompt-completion (`prompt`, `completion`) for SFT and KD,
/// preference (`prompt`, `chosen`, `rejected`, optional `chosen_score`/`rejected_score` for PLaD's margin loss).
/// Each text field may instead be given as token ids (`prompt_ids`, `completion_ids`, `chosen_ids`,
/// `rejected_ids`), used exactly as given. Text is encoded as transformers does by default: the prompt with the
/// tokenizer's special tokens (BOS where its post-processor adds one), answers without (they continue the prompt).
/// Every problem names the file, line and field. With <c>eos</c>, a text completion gets that token appended (TRL's
/// SFTTrainer add_eos: completion + eos_token), so a model learns where an answer ends; ids are never changed.
/// </summary>
public static class TrainingJsonl
{
    public static List<TrainingExample> Read(string path, Tokenizer? tokenizer, bool preference, int vocabSize, int? eos = null)
    {
        var list = new List<TrainingExample>();
        foreach (var record in JsonlReader.Read(path))
        {
            var prompt = Ids(record, path, "prompt", tokenizer, addSpecialTokens: true, vocabSize);
            if (prompt.Length == 0) throw new JsonlFormatException(path, record.Line, "the prompt encodes to no tokens; the first answer token needs a context");
            if (!preference)
            {
                var completion = Ids(record, path, "completion", tokenizer, false, vocabSize);
                if (eos is int e && !record.Json.ContainsKey("completion_ids") && (completion.Length == 0 || completion[^1] != e)) completion = [.. completion, e];
                list.Add(new TrainingExample(prompt, completion));
                continue;
            }
            list.Add(new TrainingExample(prompt, Ids(record, path, "chosen", tokenizer, false, vocabSize))
            {
                Rejected = Ids(record, path, "rejected", tokenizer, false, vocabSize),
                ChosenScore = Score(record, path, "chosen_score"),
                RejectedScore = Score(record, path, "rejected_score"),
            });
        }
        if (list.Count == 0) throw new FormatException($"{path}: no records");
        return list;
    }

    static int[] Ids(JsonlReader.Record record, string path, string field, Tokenizer? tokenizer, bool addSpecialTokens, int vocabSize)
    {
        int[] ids;
        if (record.Json.ContainsKey(field + "_ids")) ids = record.RequireIntArray(field + "_ids", path);
        else if (record.Json.ContainsKey(field))
        {
            var text = record.RequireString(field, path);
            if (tokenizer is null)
                throw new JsonlFormatException(path, record.Line, $"field \"{field}\" is text, but the model folder has no tokenizer.json — give \"{field}_ids\"");
            ids = [.. tokenizer.EncodeToIds(text, addSpecialTokens)];
        }
        else throw new JsonlFormatException(path, record.Line, $"needs \"{field}\" (text) or \"{field}_ids\" (token ids)");
        foreach (int t in ids)
            if ((uint)t >= (uint)vocabSize) throw new JsonlFormatException(path, record.Line, $"\"{field}\" holds token id {t}, outside the model's vocabulary of {vocabSize}");
        return ids;
    }

    static float Score(JsonlReader.Record record, string path, string field)
    {
        if (!record.Json.ContainsKey(field)) return 0f;
        return record.Json[field] is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<double>(out var d) && double.IsFinite(d)
            ? (float)d : throw new JsonlFormatException(path, record.Line, $"field \"{field}\" is not a finite number");
    }
}
