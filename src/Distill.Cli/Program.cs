using System.CommandLine;
using System.Reflection;
using Distill.Cli;

// `distill <verb>`: verbs are discovered from IVerb implementations (see IVerb.cs).
var root = new RootCommand("Distill: distill large language models into small ones with preference-based methods.");
var groups = new Dictionary<string, Command>(StringComparer.Ordinal);
var verbs = typeof(IVerb).Assembly.GetTypes()
    .Where(t => typeof(IVerb).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
    .Select(t => (IVerb)Activator.CreateInstance(t)!)
    .Select(v => (v.Group, Command: v.Build()))
    .OrderBy(v => v.Group ?? "").ThenBy(v => v.Command.Name, StringComparer.Ordinal);
foreach (var (group, command) in verbs)
{
    if (group is null) { root.Subcommands.Add(command); continue; }
    if (!groups.TryGetValue(group, out var parent))
    {
        parent = new Command(group, VerbGroups.Describe(group));
        groups[group] = parent;
        root.Subcommands.Add(parent);
    }
    parent.Subcommands.Add(command);
}
return await root.Parse(args).InvokeAsync();
