using System.Runtime.InteropServices;

namespace Distill.Evaluation.Sandbox;

static partial class Native
{
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    internal static partial int Kill(int pid, int signal);
}
