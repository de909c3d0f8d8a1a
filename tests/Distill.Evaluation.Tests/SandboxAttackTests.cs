using System.Net;
using System.Net.Sockets;
using Distill.Evaluation.Sandbox;

namespace Distill.Evaluation.Tests;

/// <summary>
/// Hostile programs: the host survives and the verdict is right (issues 5 and 12), on both isolation
/// paths — bubblewrap and the unshare sandbox (root) — so the fallback is held to the same bar.
/// </summary>
public class SandboxAttackTests
{
    public static readonly TheoryData<IsolationMode> Paths = new() { IsolationMode.Bubblewrap, IsolationMode.Unshare };

    static readonly SandboxOptions Quick = new() { TimeoutSeconds = 3, MemoryMb = 256 };

    static SandboxOptions On(IsolationMode mode, SandboxOptions? o = null) => (o ?? Quick) with { Isolation = mode };

    static SandboxResult Run(string src, SandboxOptions? o = null) => ProgramRunner.RunAsync(src, o ?? Quick).GetAwaiter().GetResult();

    static SandboxResult Run(IsolationMode mode, string src, SandboxOptions? o = null)
    {
        var r = Run(src, On(mode, o));
        Assert.StartsWith(SandboxLauncher.Name(mode), r.Isolation); // the run says which sandbox it used
        return r;
    }

    static SandboxResult Harness(string solution, string tests = "assert f(2) == 4\n", SandboxOptions? o = null)
        => TestHarness.RunAsync(new TestJob(solution, "", tests, null), o ?? Quick).GetAwaiter().GetResult();

    static SandboxResult Harness(IsolationMode mode, string solution, string tests = "assert f(2) == 4\n")
        => Harness(solution, tests, On(mode));

    /// <summary>Host processes whose command line contains <paramref name="marker"/>.</summary>
    static List<int> HostProcessesWith(string marker)
    {
        var found = new List<int>();
        foreach (var d in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(d), out int pid) || pid == Environment.ProcessId) continue;
            try { if (File.ReadAllText(Path.Combine(d, "cmdline")).Contains(marker)) found.Add(pid); }
            catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        return found;
    }

    [Theory, MemberData(nameof(Paths))]
    public void RunsAsUnprivilegedUserWithoutCapabilitiesOrNetwork(IsolationMode mode)
    {
        var r = Run(mode, "import os\nprint(os.getuid(), os.getgid())\nprint([l for l in open('/proc/self/status') if l.startswith(('CapEff','CapBnd','NoNewPrivs'))])\nprint(sorted(os.listdir('/')))\nprint(open('/proc/net/dev').read().count(':'))");
        Assert.Equal(SandboxStatus.Passed, r.Status);
        var lines = r.Stdout.Split('\n');
        // uid 1000 of a user namespace of its own (on the unshare path mapped to a dedicated host uid, which it
        // keeps as is where the kernel forbids unprivileged user namespaces)
        if (mode == IsolationMode.Bubblewrap) Assert.Equal("1000 1000", lines[0]);
        else Assert.Matches("^(1000 1000|61[0-9]{3} 61[0-9]{3})$", lines[0]);
        Assert.Contains("CapEff:\\t0000000000000000", lines[1]);
        Assert.Contains("CapBnd:\\t0000000000000000", lines[1]);
        Assert.DoesNotContain("'root'", lines[2]);
        Assert.DoesNotContain("'home'", lines[2]);
        Assert.Equal("1", lines[3]); // only the loopback interface
    }

    [Theory, MemberData(nameof(Paths))]
    public void InfiniteLoopTimesOut(IsolationMode mode)
    {
        var r = Run(mode, "while True: pass", Quick with { TimeoutSeconds = 1.5 });
        Assert.Equal(SandboxStatus.Timeout, r.Status);
        Assert.InRange(r.WallSeconds, 1.4, 5);
    }

    [Theory, MemberData(nameof(Paths))]
    public void ForkBombIsContainedAndLeavesNothing(IsolationMode mode)
    {
        const string marker = "forkbomb-3f9c1";
        var r = Run(mode, $"import os, time\n# {marker}\nwhile True:\n    try: os.fork()\n    except OSError: time.sleep(0.01)\n", Quick with { TimeoutSeconds = 2 });
        Assert.NotEqual(SandboxStatus.Passed, r.Status);
        Thread.Sleep(200);
        Assert.Empty(HostProcessesWith("/box/in/program.py"));
    }

    [Theory, MemberData(nameof(Paths))]
    public void MemoryBombIsOutOfMemory(IsolationMode mode)
    {
        Assert.Equal(SandboxStatus.OutOfMemory, Run(mode, "x = bytearray(2 << 30)").Status);
        Assert.Equal(SandboxStatus.OutOfMemory, Run(mode, "a = []\nwhile True: a.append(' ' * 10**7)").Status);
        Assert.Equal(SandboxStatus.OutOfMemory, Harness(mode, "def f(x):\n    return bytearray(2 << 30)\n").Status);
    }

    [Fact]
    public void HugeOutputIsCapped()
    {
        var o = Quick with { OutputCapBytes = 10_000, TimeoutSeconds = 5 };
        var r = Run("import sys\nfor _ in range(20000): sys.stdout.write('x' * 10000)\nsys.stderr.write('e' * 10**6)", o);
        Assert.Equal(SandboxStatus.Passed, r.Status); // 200 MB drained without being kept
        Assert.InRange(r.Stdout.Length, 10_000, 10_100);
        Assert.Contains("[output truncated", r.Stdout);
        Assert.InRange(r.Stderr.Length, 10_000, 10_100);
    }

    [Theory, MemberData(nameof(Paths))]
    public void CannotWriteOrDeleteOutsideTheWorkDir(IsolationMode mode)
    {
        var sentinel = Path.Combine(Path.GetTempPath(), $"distill-sentinel-{Guid.NewGuid():N}");
        File.WriteAllText(sentinel, "intact");
        try
        {
            var r = Run(mode, $$"""
                import os, shutil
                results = []
                for path in ['{{sentinel}}', '/usr/bin/python3', '/box/in/program.py', '/etc/ld.so.cache']:
                    try:
                        os.remove(path); results.append('removed ' + path)
                    except OSError as e:
                        results.append('kept')
                for path in ['/usr/evil', '/box/in/evil', '/etc/evil', '/evil']:
                    try:
                        open(path, 'w').write('x'); results.append('wrote ' + path)
                    except OSError:
                        results.append('kept')
                open('/tmp/ok.txt', 'w').write('fine')
                try:
                    chunk = b'x' * (1 << 20)  # 64 MiB in 1 MiB writes: the tmpfs and RLIMIT_FSIZE must stop it, not RLIMIT_AS
                    with open('/tmp/big', 'wb') as f:
                        for _ in range(64): f.write(chunk)
                    results.append('big')
                except OSError:
                    results.append('kept')
                print(results)
                """);
            Assert.Equal(SandboxStatus.Passed, r.Status);
            Assert.DoesNotContain("removed", r.Stdout);
            Assert.DoesNotContain("wrote", r.Stdout);
            Assert.DoesNotContain("big", r.Stdout);
            Assert.Equal("intact", File.ReadAllText(sentinel));
            Assert.True(File.Exists("/usr/bin/python3"));
        }
        finally { File.Delete(sentinel); }
    }

    [Theory, MemberData(nameof(Paths))]
    public void NetworkIsUnreachable(IsolationMode mode)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        try
        {
            var r = Run(mode, $"import socket\ns = socket.socket()\ns.settimeout(1)\ntry:\n    s.connect(('127.0.0.1', {port})); print('connected')\nexcept OSError as e:\n    print('blocked', e)\n");
            Assert.Equal(SandboxStatus.Passed, r.Status);
            Assert.StartsWith("blocked", r.Stdout);
            Assert.False(listener.Pending());
        }
        finally { listener.Stop(); }
    }

    [Theory, MemberData(nameof(Paths))]
    public void HostEnvironmentSecretsAreInvisible(IsolationMode mode)
    {
        const string secret = "sk-fake-7d1e2f0c9b";
        Environment.SetEnvironmentVariable("DISTILL_FAKE_API_KEY", secret);
        try
        {
            var r = Run(mode, """
                import os
                out = [repr(dict(os.environ))]
                for pid in os.listdir('/proc'):
                    if pid.isdigit():
                        for f in ('environ', 'cmdline'):
                            try: out.append(open(f'/proc/{pid}/{f}', 'rb').read().decode('latin1'))
                            except OSError: pass
                print('\n'.join(out))
                """);
            Assert.Equal(SandboxStatus.Passed, r.Status);
            Assert.DoesNotContain(secret, r.Stdout);
            Assert.DoesNotContain("DISTILL_FAKE_API_KEY", r.Stdout);
            Assert.Contains("C.UTF-8", r.Stdout); // the allow-listed environment is there
        }
        finally { Environment.SetEnvironmentVariable("DISTILL_FAKE_API_KEY", null); }
    }

    [Theory, MemberData(nameof(Paths))]
    public void KillingTheParentOrEveryoneFailsTheRunOnly(IsolationMode mode)
    {
        var a = Harness(mode, "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill(-1, signal.SIGKILL)\ndef f(x): return x * x\n");
        Assert.NotEqual(SandboxStatus.Passed, a.Status);
        var b = Harness(mode, "import os, signal\ndef f(x):\n    os.kill(-1, signal.SIGKILL)\n    return x * x\n");
        Assert.NotEqual(SandboxStatus.Passed, b.Status);
        Assert.Equal(SandboxStatus.Passed, Harness(mode, "def f(x): return x * x\n").Status); // and the host still works
    }

    [Fact]
    public void EarlyExitBeforeTestsIsNotAPass()
    {
        Assert.Equal(SandboxStatus.Crashed, Harness("import os\nos._exit(0)\n").Status);
        Assert.Equal(SandboxStatus.Failed, Harness("import sys\nsys.exit(0)\n").Status); // SystemExit at load
        var r = Harness("import os\ndef f(x):\n    os._exit(0)\n");
        Assert.Equal(SandboxStatus.Crashed, r.Status);
    }

    [Fact]
    public void AlwaysEqualObjectsAndIntSubclassesDoNotCross()
    {
        var eq = Harness("class E:\n    def __eq__(self, o): return True\n    __hash__ = object.__hash__\ndef f(x): return E()\n");
        Assert.Equal(SandboxStatus.Failed, eq.Status); // crossed as an opaque value, equal only to itself
        Assert.Equal("AssertionError\nINPUT: 2\nOUTPUT: <E <__candidate__.E object at 0x...\nEXPECTED: 4", System.Text.RegularExpressions.Regex.Replace(eq.Error!, "0x[0-9a-f]+.*", "0x..."));
        var sub = Harness("class I(int):\n    def __eq__(self, o): return True\ndef f(x): return I(5)\n");
        Assert.Equal(SandboxStatus.Failed, sub.Status);
        Assert.Contains("OUTPUT: <I 5>", sub.Error);
        // Truthiness is all an opaque value keeps: `assert f(x)` behaves as in the original harness.
        Assert.Equal(SandboxStatus.Passed, Harness("import re\ndef f(x): return re.search('a', 'cat')\n", "assert f(1)\n").Status);
        Assert.Equal(SandboxStatus.Failed, Harness("import re\ndef f(x): return re.search('z', 'cat')\n", "assert f(1)\n").Status);
    }

    [Fact]
    public void PatchedBuiltinsOnlyAffectTheCandidate()
    {
        var r = Harness("""
            import builtins
            builtins.AssertionError = type('Nope', (Exception,), {})
            builtins.print = lambda *a, **k: None
            builtins.__import__ = None
            def f(x): return 5
            """);
        Assert.Equal(SandboxStatus.Failed, r.Status);
        Assert.Equal("AssertionError\nINPUT: 2\nOUTPUT: 5\nEXPECTED: 4", r.Error);
        // The candidate may rewrite its own encoder; all it can send is a plain value or a known tag.
        var forged = Harness("import wire\nwire.encode = lambda x, depth=0, handles=None: {'int_subclass': 4}\ndef f(x): return 4\n");
        Assert.Equal(SandboxStatus.Failed, forged.Status);
        Assert.Contains("unknown wire tag", forged.Error);
        // Patching isinstance breaks the candidate's own json encoder: its loss, never a pass.
        var broken = Harness("import builtins\nbuiltins.isinstance = lambda *a: True\ndef f(x): return 4\n");
        Assert.Equal(SandboxStatus.Crashed, broken.Status);
    }

    [Theory, MemberData(nameof(Paths))]
    public void TheTestsAreOutOfTheCandidatesReach(IsolationMode mode)
    {
        const string marker = "EXPECTED_MARKER_91";
        var r = Harness(mode, """
            import gc, inspect, os, sys
            seen = []
            for o in gc.get_objects():
                if isinstance(o, str) and 'MARKER' in o: seen.append(o)
            for fr in inspect.stack(): seen.append(str(fr.frame.f_globals.keys()))
            seen.append(str(os.listdir(sys.argv[1])))
            sys.stderr.write('\n'.join(seen))
            def f(x): return None
            """, $"{marker} = 4\nassert f(2) == {marker}\n");
        Assert.Equal(SandboxStatus.Failed, r.Status);
        Assert.DoesNotContain(marker, r.Stderr);
        Assert.DoesNotContain("tests.py", r.Stderr);
        Assert.Contains("solution.py", r.Stderr); // the probe ran
    }

    [Fact]
    public void PrintedOrInjectedVerdictsAreIgnored()
    {
        var r = Harness("""
            import os, sys
            print('{"verdict": "passed"}')
            for fd in range(0, 10):
                try: os.write(fd, b'{"verdict": "passed"}\n{"ok": 4}\n')
                except OSError: pass
            def f(x): return 5
            """);
        Assert.Equal(SandboxStatus.Failed, r.Status);
    }

    [Theory, MemberData(nameof(Paths))]
    public void BackgroundProcessesDoNotOutliveTheRun(IsolationMode mode)
    {
        const string marker = "outlive-5ab0e";
        var r = Harness(mode, $$"""
            import os, time
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    os.execv('/usr/bin/python3', ['/usr/bin/python3', '-c', 'import time; time.sleep(100) # {{marker}}'])
                os._exit(0)
            time.sleep(0.3)
            def f(x): return x * x
            """);
        Assert.Equal(SandboxStatus.Passed, r.Status);
        Thread.Sleep(300);
        Assert.Empty(HostProcessesWith(marker));
    }
}
