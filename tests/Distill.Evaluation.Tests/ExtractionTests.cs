using Distill.Data.Benchmarks;
using Distill.Evaluation.Code;

namespace Distill.Evaluation.Tests;

public class ExtractionTests
{
    static readonly CodeTask He = new("HumanEval/x", "import math\n\ndef f(x):\n    \"\"\"doc\"\"\"\n", "f", "", "", TestStyle.Check);
    static readonly CodeTask Mb = new("Mbpp/x", "Write f.", "f", "assert f(1) == 1\n", "", TestStyle.Asserts, CompletionContinuesPrompt: false);

    [Fact]
    public void FencedBlockWithProseAround()
    {
        var answer = "Sure! Here is the code:\n```python\ndef f(x):\n    return g(x)\n\ndef g(x):\n    return 1\n\nprint(f(2))\n```\nThis works because...";
        Assert.Equal("def f(x):\n    return g(x)\ndef g(x):\n    return 1\n", CodeExtraction.Program(Mb, answer));
    }

    [Fact]
    public void FenceWithoutLanguageAndTheBlockThatDefinesTheEntryPoint()
    {
        var answer = "Usage:\n```\nf(3)\n```\nCode:\n```\ndef f(x):\n    return x\n```";
        Assert.Equal("def f(x):\n    return x\n", CodeExtraction.Program(Mb, answer));
    }

    [Fact]
    public void UnreachableDefinitionsAndScriptCodeAreDropped()
    {
        var code = "import os\nfrom math import sqrt\n\nHere is my answer.\nLIMIT = 10\ndef unused():\n    pass\n\n@staticmethod\ndef helper(y):\n    return y + LIMIT\n\ndef f(x):\n    return helper(x)\n\nif __name__ == '__main__':\n    print(f(1))\nassert f(1) == 11\n";
        Assert.Equal("import os\nfrom math import sqrt\nLIMIT = 10\n@staticmethod\ndef helper(y):\n    return y + LIMIT\ndef f(x):\n    return helper(x)\n", CodeExtraction.Sanitize(code, "f"));
    }

    [Fact]
    public void CompletionContinuesThePrompt()
    {
        var completion = "    return math.floor(x)\n\nprint(f(2.5))\n";
        Assert.Equal(He.Prompt + "    return math.floor(x)\n\n", CodeExtraction.Program(He, completion));
    }

    [Fact]
    public void WholeFunctionForHumanEvalKeepsThePromptInFront()
    {
        var answer = "```python\ndef f(x):\n    return math.floor(x)\n```";
        Assert.Equal(He.Prompt + "\ndef f(x):\n    return math.floor(x)\n", CodeExtraction.Program(He, answer));
    }
}
