# Sandbox zygote (docs/evaluation.md, "The sandbox"). One long-lived, pre-imported interpreter inside
# the outer sandbox (bwrap, or unshare + the private root built below). For every execution the host
# asks for, it forks a child that becomes pid 1 of a NEW pid namespace, with its own mount and IPC
# namespaces: fresh proc, private nosuid/nodev tmpfs /tmp and /dev/shm, its files on a read-only
# tmpfs /box/in, rlimits, no capabilities, no-new-privs, and then its own unprivileged identity (a
# nested user namespace as uid 1000 under bwrap; a dedicated host uid under unshare). So the child
# never sees the zygote or any other execution (they are outside its pid namespace), cannot leave
# files, processes or IPC objects behind (they die with its namespaces), and starts from the
# zygote's pristine modules (a fork copies them; its monkeypatches die with it).
# The zygote holds no secret: it never receives file contents or nonces (the host writes those
# straight to the child's stdin), so the copy of its memory every child gets reveals nothing.
# Control channel: a SOCK_SEQPACKET socket inherited from the host, one JSON message per packet;
# the host ends of each child's pipes travel back with SCM_RIGHTS.
import atexit
import ctypes
import io
import json
import os
import platform
import resource
import selectors
import signal
import socket
import sys

# Pre-imported for the harness and for what candidates import most (the zygote's whole point).
import ast  # noqa: F401
import builtins  # noqa: F401
import collections  # noqa: F401
import functools  # noqa: F401
import hashlib
import heapq  # noqa: F401
import importlib  # noqa: F401
import itertools  # noqa: F401
import math  # noqa: F401
import random  # noqa: F401  (reseeds itself in every forked child: os.register_at_fork)
import re  # noqa: F401
import secrets
import string  # noqa: F401
import traceback  # noqa: F401
import types
import typing  # noqa: F401

try:  # HumanEval+'s tests import numpy in every test runner: 0.1–0.5 s each when cold. One BLAS thread
    import numpy  # noqa: F401  (OPENBLAS_NUM_THREADS=1), so the fork copies no half-started thread pool.
except ImportError:
    pass

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import wire  # noqa: E402,F401
import worker  # noqa: E402
import runner  # noqa: E402

libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID = 0x00020000, 0x08000000, 0x10000000, 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 4, 24, 38, 47, 4
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(platform.machine())
INSIDE_UID = 1000
BOX = "/box/in"
SECURE = MS_NOSUID | MS_NODEV


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source, target, fstype, flags, data=None):
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    _check(libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


def _remount_ro(path):
    """Per-mount read-only remount that keeps the mount's other flags (a user namespace may not clear locked ones)."""
    st = os.statvfs(path)
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY
    for bit, ms in ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC)):
        if st.f_flag & bit:
            flags |= ms
    _mount(None, path, None, flags)


def build_root():
    """unshare path (real root, fresh mount namespace): the same view bwrap gives, then pivot_root so no
    host path is left: read-only /usr (nosuid, nodev), /lib, /bin... as symlinks, ld.so.cache and
    alternatives, a read-only /dev with only null/zero/full/random/urandom/tty, and empty mount points."""
    if SYS_PIVOT_ROOT is None:
        raise OSError(f"pivot_root: unsupported machine {platform.machine()}")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    root = "/mnt"
    _mount("tmpfs", root, "tmpfs", SECURE, "size=1m,mode=0755")
    for d in ("usr", "etc", "dev", "proc", "tmp", "box/in", "oldroot"):
        os.makedirs(f"{root}/{d}", exist_ok=True)
    _mount("/usr", f"{root}/usr", None, MS_BIND | MS_REC)
    _mount(None, f"{root}/usr", None, MS_REMOUNT | MS_BIND | MS_RDONLY | SECURE)
    for link in ("lib", "lib64", "bin", "sbin"):
        os.symlink(f"usr/{link}", f"{root}/{link}")
    for etc in ("/etc/ld.so.cache", "/etc/alternatives"):
        if os.path.isdir(etc):
            os.makedirs(root + etc)
        elif os.path.exists(etc):
            open(root + etc, "w").close()
        else:
            continue
        _mount(etc, root + etc, None, MS_BIND | MS_REC)
        _mount(None, root + etc, None, MS_REMOUNT | MS_BIND | MS_RDONLY | SECURE)
    _mount("tmpfs", f"{root}/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755")
    for node in ("null", "zero", "full", "random", "urandom", "tty"):
        open(f"{root}/dev/{node}", "w").close()
        _mount(f"/dev/{node}", f"{root}/dev/{node}", None, MS_BIND)
    os.mkdir(f"{root}/dev/shm")
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{root}/dev/{name}")
    _check(libc.syscall(SYS_PIVOT_ROOT, root.encode(), f"{root}/oldroot".encode()), "pivot_root")
    os.chdir("/")
    _check(libc.umount2(b"/oldroot", MNT_DETACH), "umount old root")
    os.rmdir("/oldroot")
    _mount("proc", "/proc", "proc", SECURE | MS_NOEXEC)
    _remount_ro("/dev")
    _remount_ro("/")


def seal_outer():
    """bwrap path: bwrap's /dev is a writable tmpfs shared by every child: read-only, and without the devpts
    instance (ptys would be a channel between executions; the unshare root has none either)."""
    if os.path.ismount("/dev/pts"):
        _check(libc.umount2(b"/dev/pts", MNT_DETACH), "umount /dev/pts")
    _remount_ro("/dev")


# ---------------------------------------------------------------------------- in the child


def _read_exact(fd, n):
    chunks = []
    while n > 0:
        b = os.read(fd, min(n, 1 << 20))
        if not b:
            raise EOFError("the host closed the child's stdin before its files arrived")
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def _read_preamble():
    """`<length>\\n<json>` from the host on stdin: the files and, in program mode, the nonce."""
    head = b""
    while not head.endswith(b"\n"):
        b = os.read(0, 1)
        if not b or len(head) > 20:
            raise EOFError("malformed preamble")
        head += b
    return json.loads(_read_exact(0, int(head)))


def _drop_capabilities():
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == 22:  # EINVAL: past the last cap
            break
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    _check(libc.capset(header, (ctypes.c_uint32 * 6)()), "capset")


def _setup(kind, msg, files):
    _check(libc.unshare(CLONE_NEWNS | CLONE_NEWIPC), "unshare mount/ipc")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("proc", "/proc", "proc", SECURE | MS_NOEXEC)  # this pid namespace only: the child sees itself alone
    _mount("tmpfs", "/tmp", "tmpfs", SECURE, f"size={int(msg['tmp_mb'])}m,mode=1777")
    _mount("tmpfs", "/dev/shm", "tmpfs", SECURE | MS_NOEXEC, f"size={int(msg['tmp_mb'])}m,mode=1777")
    size = sum(len(v.encode()) for v in files.values()) + (1 << 20)
    _mount("tmpfs", BOX, "tmpfs", SECURE | MS_NOEXEC, f"size={size},mode=0755")
    for name, text in files.items():
        if "/" in name or name.startswith("."):
            raise ValueError(f"bad file name {name!r}")
        with open(f"{BOX}/{name}", "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(f"{BOX}/{name}", 0o444)
    _mount(None, BOX, None, MS_REMOUNT | MS_BIND | MS_RDONLY | SECURE | MS_NOEXEC)
    os.chdir("/tmp")
    lim = msg["limits"]
    for which, value in ((resource.RLIMIT_AS, lim["as"]), (resource.RLIMIT_CPU, lim["cpu"]), (resource.RLIMIT_FSIZE, lim["fsize"]),
                         (resource.RLIMIT_NPROC, lim["nproc"]), (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(which, (value, value))
    outer = 0  # the identity the nested user namespace maps uid 1000 to: the zygote's (bwrap) or the slot's (unshare)
    if kind == "unshare":
        outer = int(msg["uid"])
        _drop_capabilities_bounding_only()
        os.setgroups([])
        os.setresgid(outer, outer, outer)
        os.setresuid(outer, outer, outer)  # from root to a non-zero uid: the kernel clears every capability
    # A user namespace of its own, uid/gid 1000: per-execution keyrings and NPROC count, and no
    # capability over anything outside it. Needs unprivileged user namespaces on the unshare path
    # (bwrap needs them anyway); where the kernel forbids them, that path keeps the slot uid.
    if libc.unshare(CLONE_NEWUSER) == 0:
        libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # setresuid made /proc/self root-owned; nothing else can see this process
        for name, text in (("setgroups", "deny"), ("uid_map", f"{INSIDE_UID} {outer} 1"), ("gid_map", f"{INSIDE_UID} {outer} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    elif kind != "unshare":
        _check(-1, "unshare user")
    _drop_capabilities()
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    resource.setrlimit(resource.RLIMIT_NOFILE, (lim["nofile"], lim["nofile"]))


def _drop_capabilities_bounding_only():
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == 22:
            break


def _fresh_stdio():
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8")
    sys.stdout = sys.__stdout__ = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, "w", closefd=False)), encoding="utf-8")
    sys.stderr = sys.__stderr__ = io.TextIOWrapper(io.BufferedWriter(io.FileIO(2, "w", closefd=False)), encoding="utf-8",
                                                   errors="backslashreplace", line_buffering=True)


def _free_fd():
    limit = min(resource.getrlimit(resource.RLIMIT_NOFILE)[0], 1024)  # at least 16 (SandboxOptions.Validate)
    while True:
        fd = 4 + secrets.randbelow(limit - 4)
        try:
            os.fstat(fd)
        except OSError:
            return fd


def _run_program(pre):
    """Program mode. Runs PROGRAM.py as __main__; only if its last statement completed does this write
    sha256("distill-complete:" + nonce) to the done pipe. The nonce comes from the host on stdin, is
    parked in a pipe at a random descriptor and is read back only after the program's last line, so
    os._exit, sys.exit, excepthook or atexit tricks, forged output, and reading or echoing every
    descriptor cannot produce the token. A program that knows this protocol can (docs/evaluation.md)."""
    r, w = os.pipe()
    os.write(w, pre.pop("nonce").encode())
    os.close(w)
    q = _free_fd()
    os.dup2(r, q, inheritable=False)
    os.close(r)
    d = _free_fd()
    os.dup2(3, d, inheritable=False)
    os.close(3)
    path = f"{BOX}/program.py"
    source = pre["files"]["program.py"]
    pre.clear()
    main = types.ModuleType("__main__")
    main.__file__ = path
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    sys.argv = [path, BOX]
    try:
        code = compile(source, path, "exec")
        del source
        exec(code, main.__dict__)
    except SystemExit:
        raise
    except BaseException:
        sys.excepthook(*sys.exc_info())
        raise SystemExit(1) from None
    token = hashlib.sha256(b"distill-complete:" + os.read(q, 64)).hexdigest()
    os.write(d, token.encode())
    os.close(d)
    os.close(q)


def child(kind, msg, fds):
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for i, fd in enumerate(fds):
            os.dup2(fd, i, inheritable=True)
        os.closerange(len(fds), 1 << 16)
        os.setsid()
        pre = _read_preamble()
        _setup(kind, msg, pre["files"])
        _fresh_stdio()
        sys.path = [p for p in sys.path if p != HERE]
        mode = msg["mode"]
    except BaseException as e:  # noqa: BLE001 -- the host reads "sandbox:" as a sandbox error
        where = traceback.extract_tb(e.__traceback__)[-1]
        os.write(2, f"sandbox: {type(e).__name__}: {e} (zygote.py line {where.lineno}: {where.line})\n".encode())
        os._exit(125)
    sys.argv = [f"{BOX}/{mode}.py", BOX]
    try:
        if mode == "worker":
            worker.serve(BOX)
        elif mode == "runner":
            libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # trusted: holds the tests
            runner.serve(BOX)
        else:
            _run_program(pre)
        code = 0
    except SystemExit as e:
        code = _exit_code(e)
    _finish(code)


def _exit_code(e):
    """The status CPython exits with for SystemExit(e.code)."""
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code & 0xFF
    try:
        print(e.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001
        pass
    return 1


def _finish(code):
    """What CPython's exit does that a program can observe (wait for threads, atexit hooks, flush), without
    tearing down every module of the zygote one by one: that teardown cost more than the fork."""
    for step in (lambda: sys.modules["threading"]._shutdown() if "threading" in sys.modules else None,
                 atexit._run_exitfuncs, sys.stdout.flush, sys.stderr.flush):
        try:
            step()
        except BaseException:  # noqa: BLE001 -- as at interpreter exit: reported or ignored, never fatal
            pass
    os._exit(code)


# ---------------------------------------------------------------------------- the zygote


class Zygote:
    def __init__(self, ctl, kind):
        self.ctl, self.kind = ctl, kind
        self.children = {}  # pid -> id
        self.pidns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)

    def send(self, obj, fds=()):
        data = json.dumps(obj).encode()
        if fds:
            socket.send_fds(self.ctl, [data], list(fds))
        else:
            self.ctl.send(data)

    def spawn(self, msg):
        mode = msg["mode"]
        pipes = [os.pipe() for _ in range(4 if mode == "program" else 3)]  # stdin, stdout, stderr, done
        child_ends = [pipes[0][0]] + [w for _, w in pipes[1:]]
        host_ends = [pipes[0][1]] + [r for r, _ in pipes[1:]]
        try:
            _check(libc.unshare(CLONE_NEWPID), "unshare pid")
            try:
                pid = os.fork()
            except OSError:
                libc.setns(self.pidns, CLONE_NEWPID)
                raise
        except OSError:
            for fd in child_ends + host_ends:
                os.close(fd)
            raise
        if pid == 0:
            for fd in host_ends:
                os.close(fd)
            child(self.kind, msg, child_ends)  # never returns: ends in os._exit
        _check(libc.setns(self.pidns, CLONE_NEWPID), "setns pid")  # the next fork starts a new namespace again
        for fd in child_ends:
            os.close(fd)
        try:
            self.send({"ev": "spawned", "id": msg["id"], "pid": pid}, host_ends)
        finally:
            for fd in host_ends:
                os.close(fd)
        self.children[pid] = msg["id"]

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            job = self.children.pop(pid, None)
            if job is not None:
                ev = {"ev": "exit", "id": job}
                if os.WIFSIGNALED(status):
                    ev["signal"] = os.WTERMSIG(status)
                else:
                    ev["code"] = os.waitstatus_to_exitcode(status)
                self.send(ev)

    def kill(self, job):
        for pid, j in self.children.items():
            if j == job:
                os.kill(pid, signal.SIGKILL)  # pid 1 of its namespace: the kernel kills everything in it

    def serve(self):
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        sel = selectors.DefaultSelector()
        sel.register(self.ctl, selectors.EVENT_READ, "ctl")
        sel.register(wake_r, selectors.EVENT_READ, "wake")
        self.send({"ev": "ready", "isolation": self.kind})
        while True:
            for key, _ in sel.select():
                if key.data == "wake":
                    try:
                        os.read(wake_r, 4096)
                    except BlockingIOError:
                        pass
                    self.reap()
                    continue
                data = self.ctl.recv(65536)
                if not data:
                    return  # the host is gone: returning ends pid 1, and the kernel ends every child
                msg = json.loads(data)
                if msg["op"] == "spawn":
                    try:
                        self.spawn(msg)
                    except OSError as e:
                        self.send({"ev": "error", "id": msg["id"], "message": str(e)})
                elif msg["op"] == "kill":
                    self.kill(msg["id"])
            self.reap()


def main():
    ctl_fd, kind = int(sys.argv[1]), sys.argv[2]
    if kind == "unshare":
        build_root()
    else:
        seal_outer()
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # nothing in the sandbox may ptrace or read the zygote
    ctl = socket.socket(fileno=ctl_fd)
    os.set_inheritable(ctl_fd, False)
    Zygote(ctl, kind).serve()


if __name__ == "__main__":
    main()
