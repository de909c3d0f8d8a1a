namespace Distill.Chat;

/// <summary>
/// A model named anywhere in Distill (docs/architecture.md §4): a local Hugging Face folder,
/// <c>openai:MODEL</c>, <c>openai:MODEL@BASE_URL</c> (any OpenAI-compatible endpoint: OpenAI, Azure,
/// Gemini's compatible endpoint, vLLM, Ollama, llama.cpp), or <c>anthropic:MODEL</c>.
/// </summary>
public sealed record ModelReference(ModelProvider Provider, string Model, Uri? BaseUrl)
{
    public static ModelReference Parse(string text)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        if (text.StartsWith("openai:", StringComparison.Ordinal))
        {
            var rest = text["openai:".Length..];
            int at = rest.IndexOf('@');
            var model = at < 0 ? rest : rest[..at];
            if (model.Length == 0) throw new FormatException($"model reference '{text}': no model name after 'openai:'");
            Uri? baseUrl = null;
            if (at >= 0 && !Uri.TryCreate(rest[(at + 1)..], UriKind.Absolute, out baseUrl))
                throw new FormatException($"model reference '{text}': '{rest[(at + 1)..]}' is not an absolute URL");
            return new(ModelProvider.OpenAI, model, baseUrl);
        }
        if (text.StartsWith("anthropic:", StringComparison.Ordinal))
        {
            var model = text["anthropic:".Length..];
            if (model.Length == 0) throw new FormatException($"model reference '{text}': no model name after 'anthropic:'");
            return new(ModelProvider.Anthropic, model, null);
        }
        return new(ModelProvider.Local, text, null);
    }

    public override string ToString() => Provider switch
    {
        ModelProvider.OpenAI => BaseUrl is null ? $"openai:{Model}" : $"openai:{Model}@{BaseUrl}",
        ModelProvider.Anthropic => $"anthropic:{Model}",
        _ => Model,
    };
}

public enum ModelProvider { Local, OpenAI, Anthropic }
