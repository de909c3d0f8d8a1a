using Distill.Chat.Caching;

// Usage: CacheWriter DB_PATH — writes entries "k0", "k1", ... as fast as it can and prints each
// key after its INSERT has committed, so the parent knows what must survive a kill -9.
using var cache = new ResponseCache(args[0]);
var payload = new string('x', 2000);
for (long i = 0; ; i++)
{
    cache.Put($"k{i}", "crash-test", $"{{\"i\":{i},\"pad\":\"{payload}\"}}");
    Console.Out.WriteLine($"k{i}");
    Console.Out.Flush();
}
