using System.Diagnostics;

namespace Distill.Report;

/// <summary>
/// Debian's `chromium` in headless mode, to render report.html as a browser would: a PNG screenshot (DIR/report.png)
/// and the DOM after layout (for the report's tests). Nothing is fetched: the page is a local file that names no URL,
/// and background networking is off. Each call uses its own throw-away profile, so calls may run side by side.
/// </summary>
public static class HeadlessChromium
{
    static readonly string[] Names = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

    /// <summary>The browser's path, or null when none is on PATH (Debian: `apt-get install chromium`; .ci/install.sh does).</summary>
    public static string? Find()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            foreach (var name in Names)
            {
                string p = Path.Combine(dir, name);
                if (File.Exists(p)) return p;
            }
        return null;
    }

    /// <summary>A <paramref name="width"/>×<paramref name="height"/> screenshot of <paramref name="html"/> into <paramref name="png"/>.</summary>
    public static void Screenshot(string chromium, string html, string png, int width = 1280, int height = 4000, int timeoutSeconds = 60)
    {
        string full = Path.GetFullPath(png);
        string tmp = full + ".tmp.png";
        Run(chromium, [$"--screenshot={tmp}", $"--window-size={width},{height}", "--hide-scrollbars", Url(html)], timeoutSeconds);
        if (!File.Exists(tmp) || new FileInfo(tmp).Length == 0) throw new InvalidOperationException($"{chromium} wrote no screenshot of {html}");
        File.Move(tmp, full, overwrite: true);
    }

    /// <summary>The serialized DOM of <paramref name="html"/> after it loaded and its scripts ran.</summary>
    public static string DumpDom(string chromium, string html, int width = 1280, int height = 4000, int timeoutSeconds = 60) =>
        Run(chromium, ["--dump-dom", $"--window-size={width},{height}", Url(html)], timeoutSeconds);

    static string Url(string html) => new Uri(Path.GetFullPath(html)).AbsoluteUri;

    static string Run(string chromium, string[] args, int timeoutSeconds)
    {
        string profile = Directory.CreateTempSubdirectory("distill-chromium-").FullName;
        try
        {
            var psi = new ProcessStartInfo(chromium) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            // --no-sandbox: Chromium refuses to start as root without it (CI runs as root); the page is our own local file.
            foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-extensions",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                         "--no-default-browser-check", "--mute-audio", $"--user-data-dir={profile}" }.Concat(args))
                psi.ArgumentList.Add(a);
            using var p = Process.Start(psi) ?? throw new InvalidOperationException($"{chromium} did not start");
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds)))
            {
                p.Kill(entireProcessTree: true);
                throw new TimeoutException($"{chromium} took more than {timeoutSeconds} s on {args[^1]}");
            }
            if (p.ExitCode != 0) throw new InvalidOperationException($"{chromium} exited {p.ExitCode} on {args[^1]}: {Tail(stderr.Result)}");
            return stdout.Result;
        }
        finally { try { Directory.Delete(profile, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { } }
    }

    static string Tail(string s) => s.Length <= 600 ? s.Trim() : s[^600..].Trim();
}
