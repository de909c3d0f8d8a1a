using Microsoft.Extensions.Logging;

namespace Distill.Chat.Tests;

/// <summary>Keeps every formatted log line (Trace and up, exceptions included) so tests can search them for secrets.</summary>
sealed class CapturingLoggerFactory : ILoggerFactory
{
    readonly List<string> _lines = [];
    public IReadOnlyList<string> Lines { get { lock (_lines) return [.. _lines]; } }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);
    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();
    public void Dispose() { }

    sealed class Logger(CapturingLoggerFactory owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = $"{logLevel} {category}: {formatter(state, exception)} {exception}";
            lock (owner._lines) owner._lines.Add(line);
        }
    }
}
