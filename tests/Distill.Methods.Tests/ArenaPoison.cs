using System.Runtime.CompilerServices;

namespace Distill.Methods.Tests;

/// <summary>Every test here runs with arena poisoning on: memory handed out uncleared is NaN until written.</summary>
static class ArenaPoison
{
    [ModuleInitializer]
    internal static void On() => Distill.Tensors.Arena.Poison = true;
}
