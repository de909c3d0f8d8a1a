using System.Collections.Concurrent;
using System.Diagnostics;

namespace Distill.Evaluation.Sandbox;

/// <summary>
/// Starts every sandbox process from one dedicated thread that lives as long as the host process.
/// Why: bwrap's --die-with-parent is PR_SET_PDEATHSIG, which Linux ties to the *thread* that forked
/// the child, not the process. Started from a thread-pool thread, bwrap was SIGKILLed whenever the
/// pool retired that thread — seen as a random "killed by signal 9" about 90 ms into a run
/// (HarnessTests.SlowCandidateTimesOut failed 3 times in 9 suite runs before this).
/// </summary>
static class ProcessSpawner
{
    static readonly BlockingCollection<(ProcessStartInfo Info, TaskCompletionSource<Process> Done)> Queue = [];

    static ProcessSpawner()
    {
        var thread = new Thread(() =>
        {
            foreach (var (info, done) in Queue.GetConsumingEnumerable())
            {
                try { done.SetResult(Process.Start(info) ?? throw new InvalidOperationException($"could not start {info.FileName}")); }
                catch (Exception e) { done.SetException(e); }
            }
        }) { IsBackground = true, Name = "distill-sandbox-spawner" };
        thread.Start();
    }

    public static Process Start(ProcessStartInfo info)
    {
        var done = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        Queue.Add((info, done));
        return done.Task.GetAwaiter().GetResult();
    }
}
