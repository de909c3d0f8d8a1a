using System.CommandLine;
using System.Text.Json.Nodes;
using Distill.Evaluation.Sandbox;

namespace Distill.Cli.Commands;

/// <summary>`distill sandbox run`: one program, or a solution against tests through the evaluator's harness.</summary>
sealed class SandboxRunCommand : IVerb
{
    public string? Group => "sandbox";

    public Command Build()
    {
        var program = new Argument<string?>("PROGRAM") { Description = "Python file to run (omit with --solution/--tests)", Arity = ArgumentArity.ZeroOrOne };
        var solution = new Option<string?>("--solution") { Description = "Candidate program (untrusted)" };
        var tests = new Option<string?>("--tests") { Description = "Tests: top-level asserts, or def check(candidate) with --entry-point" };
        var prelude = new Option<string?>("--prelude") { Description = "Trusted code the tests need (e.g. HumanEval's prompt)" };
        var entry = new Option<string?>("--entry-point") { Description = "Function passed to check(candidate)" };
        var timeout = new Option<double>("--timeout") { Description = "Wall-clock limit in seconds", DefaultValueFactory = _ => 10 };
        var memory = new Option<int>("--memory-mb") { Description = "Address-space limit in MiB", DefaultValueFactory = _ => 1024 };
        var json = new Option<bool>("--json") { Description = "Print the verdict as JSON" };
        var isolation = IsolationOption.Create();
        var command = new Command("run", "Run Python in the sandbox and print the verdict (status, exit_code, stdout, stderr, wall_s).\n" +
            "Example: distill sandbox run prog.py --timeout 3   |   distill sandbox run --solution sol.py --tests t.py --entry-point add");
        command.Arguments.Add(program);
        foreach (var o in new Option[] { solution, tests, prelude, entry, timeout, memory, isolation, json }) command.Options.Add(o);
        command.SetAction(async (pr, ct) =>
        {
            var options = new SandboxOptions { TimeoutSeconds = pr.GetValue(timeout), MemoryMb = pr.GetValue(memory), Isolation = pr.GetValue(isolation) };
            options.Validate();
            string? prog = pr.GetValue(program), sol = pr.GetValue(solution), tst = pr.GetValue(tests);
            SandboxResult r;
            if (prog is not null && sol is null && tst is null)
            {
                if (!File.Exists(prog)) throw new BadInputException($"{prog}: no such file");
                r = await ProgramRunner.RunAsync(File.ReadAllText(prog), options);
            }
            else if (prog is null && sol is not null && tst is not null)
            {
                foreach (var f in new[] { sol, tst, pr.GetValue(prelude) })
                    if (f is not null && !File.Exists(f)) throw new BadInputException($"{f}: no such file");
                var pre = pr.GetValue(prelude) is { } p ? File.ReadAllText(p) : "";
                r = await TestHarness.RunAsync(new TestJob(File.ReadAllText(sol), pre, File.ReadAllText(tst), pr.GetValue(entry)), options);
            }
            else throw new BadInputException("give either PROGRAM or both --solution and --tests");
            if (r.Status == SandboxStatus.SandboxError && r.Isolation == "none") throw new BadInputException(r.Error ?? "no sandbox available");
            if (pr.GetValue(json))
                Console.WriteLine(new JsonObject
                {
                    ["status"] = r.StatusName, ["exit_code"] = r.ExitCode, ["error"] = r.Error, ["stdout"] = r.Stdout, ["stderr"] = r.Stderr,
                    ["wall_s"] = Math.Round(r.WallSeconds, 4), ["isolation"] = r.Isolation,
                }.ToJsonString());
            else
            {
                Console.WriteLine($"status     {r.StatusName}");
                Console.WriteLine($"exit_code  {r.ExitCode?.ToString() ?? "-"}");
                Console.WriteLine($"wall_s     {r.WallSeconds:F3}");
                Console.WriteLine($"isolation  {r.Isolation}");
                if (r.Error is not null) Console.WriteLine($"error      {r.Error.Replace("\n", "\n           ")}");
                Console.WriteLine("--- stdout"); Console.Write(r.Stdout);
                Console.WriteLine("--- stderr"); Console.Write(r.Stderr);
            }
            return r.Status == SandboxStatus.Passed ? 0 : 1;
        });
        return command;
    }
}
