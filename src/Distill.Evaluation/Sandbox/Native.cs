using System.Runtime.InteropServices;

namespace Distill.Evaluation.Sandbox;

/// <summary>libc calls .NET has no API for: the zygote's control socket and its SCM_RIGHTS messages.</summary>
static unsafe partial class Native
{
    const int AF_UNIX = 1, SOCK_SEQPACKET = 5, SOCK_CLOEXEC = 0x80000, SOL_SOCKET = 1, SCM_RIGHTS = 1, MSG_CMSG_CLOEXEC = 0x40000000, MSG_NOSIGNAL = 0x4000;
    const int F_SETFD = 2, FD_CLOEXEC = 1, EINTR = 4;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    internal static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "socketpair", SetLastError = true)]
    private static partial int SocketPair(int domain, int type, int protocol, int* sv);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int cmd, int arg);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static partial nint Send(int fd, byte* buf, nint len, int flags);

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    private static partial nint RecvMsg(int fd, MsgHdr* msg, int flags);

    [StructLayout(LayoutKind.Sequential)]
    struct IoVec { public void* Base; public nint Len; }

    [StructLayout(LayoutKind.Sequential)]
    struct MsgHdr
    {
        public void* Name; public uint NameLen; public IoVec* Iov; public nint IovLen;
        public void* Control; public nint ControlLen; public int Flags;
    }

    /// <summary>A SOCK_SEQPACKET pair: the host's end is close-on-exec, the zygote's end is inherited.</summary>
    internal static (int Host, int Child) ControlPair()
    {
        int* sv = stackalloc int[2];
        if (SocketPair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0) throw new IOException($"socketpair failed (errno {Marshal.GetLastPInvokeError()})");
        Fcntl(sv[0], F_SETFD, FD_CLOEXEC);
        return (sv[0], sv[1]);
    }

    internal static void SendPacket(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
            while (Send(fd, p, data.Length, MSG_NOSIGNAL) < 0)
                if (Marshal.GetLastPInvokeError() != EINTR) throw new IOException($"send to the sandbox zygote failed (errno {Marshal.GetLastPInvokeError()})");
    }

    /// <summary>One packet and the descriptors sent with it (received close-on-exec); empty data = the zygote is gone.</summary>
    internal static (byte[] Data, int[] Fds) ReceivePacket(int fd)
    {
        var buf = new byte[65536];
        const int maxFds = 8;
        int controlLen = 16 + 4 * maxFds; // CMSG_SPACE(8 ints) on LP64: 16-byte header, data padded to 8
        byte* control = stackalloc byte[controlLen];
        fixed (byte* b = buf)
        {
            var iov = new IoVec { Base = b, Len = buf.Length };
            var msg = new MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = controlLen };
            nint n;
            while ((n = RecvMsg(fd, &msg, MSG_CMSG_CLOEXEC)) < 0)
                if (Marshal.GetLastPInvokeError() != EINTR) return ([], []);
            var fds = new List<int>();
            if (msg.ControlLen >= 16)
            {
                long len = *(long*)control;
                int level = *(int*)(control + 8), type = *(int*)(control + 12);
                if (level == SOL_SOCKET && type == SCM_RIGHTS)
                    for (int i = 0; i < (len - 16) / 4; i++) fds.Add(*(int*)(control + 16 + 4 * i));
            }
            return (buf.AsSpan(0, (int)n).ToArray(), fds.ToArray());
        }
    }
}
