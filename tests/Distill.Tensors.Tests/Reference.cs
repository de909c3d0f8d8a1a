using System.Text.Json;

namespace Distill.Tensors.Tests;

/// <summary>Finds committed reference outputs (tests/Distill.Tensors.Tests/reference/) from the repo root (the folder holding Distill.slnx).</summary>
static class Reference
{
    public static string Dir()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Distill.slnx"))) dir = dir.Parent;
        if (dir is null) throw new InvalidOperationException("Distill.slnx not found above " + AppContext.BaseDirectory);
        return Path.Combine(dir.FullName, "tests", "Distill.Tensors.Tests", "reference");
    }

    public static JsonElement Json(string file) => JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir(), file))).RootElement;
}
