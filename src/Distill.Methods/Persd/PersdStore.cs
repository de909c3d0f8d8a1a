using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Distill.Methods.Persd;

/// <summary>
/// The PERsD loop's own cache (runs/NAME/persd.sqlite): sandbox verdicts keyed by a hash of the code,
/// the tests and the limits, and student samples keyed by the student, the prompt and the sampling
/// settings. Teacher answers live in the run's response cache (cache.sqlite), as for every teacher.
/// Every write is its own committed transaction in a WAL journal, so a process killed at any point
/// (kill -9) keeps every result written before it, and a resumed loop asks for nothing twice.
/// </summary>
public sealed class PersdStore : IDisposable
{
    readonly SqliteConnection _connection;
    readonly Lock _gate = new();

    public string Path { get; }

    public PersdStore(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false }.ToString());
        _connection.Open();
        foreach (var sql in new[]
        {
            "PRAGMA journal_mode=WAL;", "PRAGMA busy_timeout=10000;", "PRAGMA synchronous=NORMAL;",
            "CREATE TABLE IF NOT EXISTS executions (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
            "CREATE TABLE IF NOT EXISTS samples (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
        })
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = sql;
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>SHA-256 (hex) of the parts, each length-prefixed so ("ab","c") and ("a","bc") differ.</summary>
    public static string Key(params string[] parts)
    {
        var b = new StringBuilder();
        foreach (var p in parts) b.Append(p.Length).Append(':').Append(p).Append('|');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(b.ToString())));
    }

    public T? Get<T>(string table, string key) where T : class
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = $"SELECT value FROM {Table(table)} WHERE key = $k";
            cmd.Parameters.AddWithValue("$k", key);
            return cmd.ExecuteScalar() is string json ? JsonSerializer.Deserialize<T>(json) : null;
        }
    }

    public void Put<T>(string table, string key, T value)
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = $"INSERT OR REPLACE INTO {Table(table)} (key, value) VALUES ($k, $v)";
            cmd.Parameters.AddWithValue("$k", key);
            cmd.Parameters.AddWithValue("$v", JsonSerializer.Serialize(value));
            cmd.ExecuteNonQuery();
        }
    }

    public long Count(string table)
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = $"SELECT COUNT(*) FROM {Table(table)}";
            return (long)cmd.ExecuteScalar()!;
        }
    }

    static string Table(string t) => t is "executions" or "samples" ? t : throw new ArgumentException($"no table '{t}'");

    public void Dispose() => _connection.Dispose();
}
