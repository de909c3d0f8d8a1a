using Distill.Evaluation.Sandbox;

namespace Distill.Evaluation.Tests;

/// <summary>
/// Issue 12 on both isolation paths: no other process's memory is reachable, every writable place is
/// private and nosuid/nodev, one execution leaves nothing the next can see, and program mode does not
/// pass the common ways of faking completion.
/// </summary>
public class SandboxIsolationTests
{
    public static readonly TheoryData<IsolationMode> Paths = SandboxAttackTests.Paths;

    static SandboxOptions On(IsolationMode mode) => new() { TimeoutSeconds = 5, MemoryMb = 256, Isolation = mode };

    static SandboxResult Run(IsolationMode mode, string src)
    {
        var r = ProgramRunner.RunAsync(src, On(mode)).GetAwaiter().GetResult();
        Assert.StartsWith(SandboxLauncher.Name(mode), r.Isolation);
        return r;
    }

    /// <summary>Tries /proc/PID/mem, ptrace(PTRACE_ATTACH) and process_vm_readv on the parent, pid 1 and every pid in sight.</summary>
    const string MemoryProbe = """
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        class iovec(ctypes.Structure):
            _fields_ = [('base', ctypes.c_void_p), ('len', ctypes.c_size_t)]
        me = os.getpid()
        targets = {os.getppid(), 1} | {int(p) for p in os.listdir('/proc') if p.isdigit()}
        targets -= {0, me}
        breaches = []
        for pid in sorted(targets):
            try:
                start = int(open(f'/proc/{pid}/maps').readline().split('-')[0], 16)
                with open(f'/proc/{pid}/mem', 'rb') as f:
                    f.seek(start)
                    if f.read(16): breaches.append(f'mem {pid}')
            except (OSError, ValueError):
                pass
            if libc.ptrace(16, pid, 0, 0) == 0:
                breaches.append(f'ptrace {pid}')
            buf = ctypes.create_string_buffer(16)
            local = iovec(ctypes.cast(buf, ctypes.c_void_p), 16)
            remote = iovec(0x400000, 16)
            if libc.process_vm_readv(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0) > 0:
                breaches.append(f'vm_readv {pid}')
        print('pid', me, 'ppid', os.getppid(), 'others', sorted(targets), 'breaches', breaches)
        """;

    [Theory, MemberData(nameof(Paths))]
    public void NoOtherProcessMemoryIsReachableFromAProgram(IsolationMode mode)
    {
        var r = Run(mode, MemoryProbe);
        Assert.Equal(SandboxStatus.Passed, r.Status);
        // The program is pid 1 of its own namespace: its parent (the zygote) and everything else are outside it.
        Assert.Equal("pid 1 ppid 0 others [] breaches []", r.Stdout.Trim());
    }

    [Theory, MemberData(nameof(Paths))]
    public async Task TheCandidateCannotReachTheTestRunnerOrTheZygote(IsolationMode mode)
    {
        var solution = MemoryProbe + "\ndef f(x): return x * x\n"; // the candidate's prints go to its stderr
        var r = await TestHarness.RunAsync(new TestJob(solution, "", "assert f(2) == 4\n", null), On(mode));
        Assert.Equal(SandboxStatus.Passed, r.Status);
        Assert.Contains("others [] breaches []", r.Stderr);
    }

    [Theory, MemberData(nameof(Paths))]
    public void WritablePlacesArePrivateNosuidNodevAndGone(IsolationMode mode)
    {
        const string marker = "distill-leftover-7c2e";
        var hostPlaces = new[] { "/dev/shm", "/tmp", "/var/tmp", "/run" };
        var r = Run(mode, $$"""
            import os, stat
            writable = []
            for root, dirs, files in os.walk('/'):
                if root.startswith(('/proc', '/sys')):
                    dirs[:] = []
                    continue
                if root.startswith('/usr/'):  # read-only bind (checked at /usr itself); walking it takes seconds
                    dirs[:] = []
                try:
                    p = os.path.join(root, '{{marker}}')
                    open(p, 'w').write('x')
                    writable.append(root)
                    os.chmod(p, 0o4755)  # a setuid file: harmless only if the mount is nosuid and private
                except OSError:
                    pass
            opts = {}
            for line in open('/proc/self/mountinfo'):
                f = line.split()
                opts[f[4]] = f[5]
            for w in writable:
                mount = max((m for m in opts if w == m or w.startswith(m.rstrip('/') + '/')), key=len)
                print(w, mount, 'nosuid' in opts[mount].split(','), 'nodev' in opts[mount].split(','))
            """);
        Assert.Equal(SandboxStatus.Passed, r.Status);
        var lines = r.Stdout.Trim().Split('\n');
        Assert.Equal(["/dev/shm", "/tmp"], lines.Select(l => l.Split(' ')[0]).Order());
        Assert.All(lines, l => Assert.EndsWith(" True True", l));
        foreach (var place in hostPlaces)
            Assert.False(File.Exists(Path.Combine(place, marker)), $"{place}/{marker} reached the host");
    }

    [Theory, MemberData(nameof(Paths))]
    public void OneExecutionLeavesNothingTheNextSees(IsolationMode mode)
    {
        var first = Run(mode, """
            import ctypes, json, os, platform, subprocess, sys
            open('/tmp/left.txt', 'w').write('x')
            open('/dev/shm/left', 'w').write('x')
            libc = ctypes.CDLL(None, use_errno=True)
            print('shm', libc.shmget(0x5eed, 4096, 0o1666))   # IPC_CREAT | 0666: a System V segment
            add_key = {'x86_64': 248, 'aarch64': 217}[platform.machine()]
            print('key', libc.syscall(add_key, b'user', b'distill-left', b'x', 1, -4))  # into the user keyring
            json.LEFT = 1
            sys.modules['planted'] = json
            import builtins
            builtins.len = lambda x: 0
            subprocess.Popen(['/usr/bin/python3', '-c', 'import time; time.sleep(30)'], start_new_session=True)
            """);
        Assert.Equal(SandboxStatus.Passed, first.Status);
        Assert.DoesNotContain("shm -1", first.Stdout);
        Assert.DoesNotContain("key -1", first.Stdout);
        var second = Run(mode, """
            import ctypes, json, os, platform, sys
            libc = ctypes.CDLL(None, use_errno=True)
            keyctl = {'x86_64': 250, 'aarch64': 219}[platform.machine()]
            print(sorted(os.listdir('/tmp')), sorted(os.listdir('/dev/shm')), libc.shmget(0x5eed, 0, 0),
                  libc.syscall(keyctl, 10, -4, b'user', b'distill-left', 0),  # KEYCTL_SEARCH the user keyring
                  hasattr(json, 'LEFT'), 'planted' in sys.modules, len([1, 2]), sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))
            """);
        Assert.Equal(SandboxStatus.Passed, second.Status);
        Assert.Equal("[] [] -1 -1 False False 2 [1]", second.Stdout.Trim());
    }

    public static readonly TheoryData<string, string> Hacks = new()
    {
        { "os._exit at import", "import os\nos._exit(0)\nprint('never')\n" },
        { "sys.exit in a function", "import sys\ndef stop():\n    sys.exit(0)\nstop()\nprint('never')\n" },
        { "sys.exit(None) at the top", "import sys\nsys.exit()\nprint('never')\n" },
        { "replaced excepthook", "import sys, os\nsys.excepthook = lambda *a: os._exit(0)\nraise ValueError('failed')\n" },
        { "quiet excepthook", "import sys\nsys.excepthook = lambda *a: None\nraise ValueError('failed')\n" },
        { "atexit exits 0", "import atexit, os\natexit.register(lambda: os._exit(0))\nraise ValueError('failed')\n" },
        { "forged verdict lines", "import os, sys\nprint('passed')\nprint('{\"verdict\": \"passed\"}')\nsys.stderr.write('status passed\\n')\nfor fd in range(3, 64):\n    try: os.write(fd, b'passed\\n')\n    except OSError: pass\nos._exit(0)\n" },
        { "nonce stolen and echoed", """
            import os, gc
            got = b''
            for fd in range(3, 64):
                try:
                    os.set_blocking(fd, False)
                    got += os.read(fd, 4096)
                except OSError:
                    pass
            strings = [o for o in gc.get_objects() if isinstance(o, (str, bytes)) and len(o) == 32]
            for fd in range(3, 64):
                for blob in [got] + [s.encode() if isinstance(s, str) else s for s in strings]:
                    try: os.write(fd, blob)
                    except OSError: pass
            os._exit(0)
            """ },
        { "descriptors closed", "import os\nos.closerange(3, 1024)\n" },
    };

    [Theory, MemberData(nameof(Hacks))]
    public void ProgramModeHacksDoNotPass(string name, string program)
    {
        foreach (var mode in new[] { IsolationMode.Bubblewrap, IsolationMode.Unshare })
        {
            var r = Run(mode, program);
            Assert.True(r.Status != SandboxStatus.Passed, $"{name} ({mode}) passed: {r.Stdout} {r.Stderr}");
            Assert.DoesNotContain("never", r.Stdout);
        }
    }

    [Theory, MemberData(nameof(Paths))]
    public void HonestProgramsPassWithAtexitAndOutput(IsolationMode mode)
    {
        var r = Run(mode, "import atexit, sys\natexit.register(lambda: print('bye'))\nprint('hello')\nsys.stdout.flush()\nx = [i * i for i in range(10)]\n");
        Assert.Equal(SandboxStatus.Passed, r.Status);
        Assert.Equal("hello\nbye\n", r.Stdout);
        var failed = Run(mode, "raise KeyError('k')\n");
        Assert.Equal(SandboxStatus.Failed, failed.Status);
        Assert.Equal("KeyError : 'k'", failed.Error);
        Assert.Equal(1, failed.ExitCode);
    }

    [Fact]
    public void WithoutBubblewrapOrRootTheSandboxRefusesAndSaysWhatToInstall()
    {
        var e = Assert.Throws<InvalidOperationException>(() => SandboxLauncher.Resolve(IsolationMode.Auto, bubblewrap: false, root: false));
        Assert.Contains("apt-get install bubblewrap", e.Message);
        Assert.Equal(IsolationMode.Unshare, SandboxLauncher.Resolve(IsolationMode.Auto, bubblewrap: false, root: true));
        Assert.Equal(IsolationMode.Bubblewrap, SandboxLauncher.Resolve(IsolationMode.Auto, bubblewrap: true, root: true));
        Assert.Throws<InvalidOperationException>(() => SandboxLauncher.Resolve(IsolationMode.Bubblewrap, bubblewrap: false, root: true));
        Assert.Throws<InvalidOperationException>(() => SandboxLauncher.Resolve(IsolationMode.Unshare, bubblewrap: true, root: false));
    }
}
