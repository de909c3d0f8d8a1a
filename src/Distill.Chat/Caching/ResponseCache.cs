using Microsoft.Data.Sqlite;

namespace Distill.Chat.Caching;

/// <summary>
/// The SQLite store behind <see cref="ResponseCacheChatClient"/> (runs/NAME/cache.sqlite).
/// WAL journal so readers never block the writer and a kill -9 loses at most the transaction in
/// flight (SQLite's atomic commit, https://sqlite.org/atomiccommit.html); a busy timeout so several
/// processes can write one cache. Values are the serialised ChatResponse JSON; no request headers,
/// hence no API key, are ever stored.
/// </summary>
public sealed class ResponseCache : IDisposable
{
    readonly SqliteConnection _connection;
    readonly Lock _gate = new();

    public string Path { get; }

    public ResponseCache(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false }.ToString());
        _connection.Open();
        Execute("PRAGMA journal_mode=WAL;");
        Execute("PRAGMA busy_timeout=10000;");
        Execute("PRAGMA synchronous=NORMAL;");
        Execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, model TEXT NOT NULL, response TEXT NOT NULL, created_utc TEXT NOT NULL);");
    }

    void Execute(string sql)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    public string? TryGet(string key)
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT response FROM responses WHERE key = $k";
            cmd.Parameters.AddWithValue("$k", key);
            return cmd.ExecuteScalar() as string;
        }
    }

    /// <summary>Stores a successful answer; the first writer of a key wins (INSERT OR IGNORE).</summary>
    public void Put(string key, string model, string response)
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "INSERT OR IGNORE INTO responses (key, model, response, created_utc) VALUES ($k, $m, $r, $t)";
            cmd.Parameters.AddWithValue("$k", key);
            cmd.Parameters.AddWithValue("$m", model);
            cmd.Parameters.AddWithValue("$r", response);
            cmd.Parameters.AddWithValue("$t", DateTime.UtcNow.ToString("O"));
            cmd.ExecuteNonQuery();
        }
    }

    public long Count()
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT COUNT(*) FROM responses";
            return (long)cmd.ExecuteScalar()!;
        }
    }

    /// <summary>PRAGMA integrity_check: "ok" for a sound database file.</summary>
    public string IntegrityCheck()
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "PRAGMA integrity_check";
            return (string)cmd.ExecuteScalar()!;
        }
    }

    public void Dispose() => _connection.Dispose();
}
